// Command tollgate runs the Tollgate API gateway.
//
//	tollgate [serve] [--conf FILE]   run the gateway (the default command)
//	tollgate version                 print the version
//	tollgate config check FILE       check a tyk.conf and exit
//	tollgate bundle build|verify ... build or check a plugin bundle
//	tollgate plugin test SCRIPT.js ... run a JS middleware on a request
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/controlapi"
	"github.com/tollgate/tollgate/plugins/bundle"
	"github.com/tollgate/tollgate/plugins/jsvm"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "version" || args[0] == "config" || args[0] == "bundle" || args[0] == "plugin") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintf(stdout, "tollgate %s (Tyk Gateway API %s)\n", version, controlapi.Version)
		return 0
	case "config":
		return configCmd(args, stdout, stderr)
	case "bundle":
		return bundle.Command(args, os.Stdin, stdout, stderr)
	case "plugin":
		return jsvm.Command(args, stdout, stderr)
	}
	return serve(args, stderr)
}

func configCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: tollgate config check FILE")
		return 2
	}
	_, warnings, err := config.Load(args[1])
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[1], err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[1])
	return 0
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("conf", "", "path to tyk.conf (default: ./tyk.conf if present, else built-in defaults)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	path := *conf
	if path == "" {
		path = config.Find()
	}
	cfg, warnings, err := config.Load(path)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level(cfg)}))
	for _, w := range warnings {
		log.Warn("config: " + w)
	}
	if err != nil {
		log.Error("invalid configuration", "file", path, "error", err)
		return 1
	}
	if cfg.EnsureSecret() {
		log.Warn("no secret configured; generated one for this run", "secret", cfg.Secret)
	}
	if cfg.NodeSecret == "" {
		cfg.NodeSecret = cfg.Secret
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gw, err := gateway.New(ctx, cfg, log)
	if err != nil {
		log.Error("start-up failed", "error", err)
		return 1
	}
	defer gw.Close()
	if cfg.EnablePprofOn != "" {
		stopPprof, err := servePprof(cfg.EnablePprofOn)
		if err != nil {
			log.Error("start-up failed", "error", err)
			return 1
		}
		defer stopPprof()
		log.Info("pprof profiles served", "addr", cfg.EnablePprofOn, "path", "/debug/pprof/")
	}
	log.Info("tollgate starting", "version", version, "config", path, "store", gw.Store.Name())
	if err := gw.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("gateway stopped", "error", err)
		return 1
	}
	return 0
}

// servePprof serves net/http/pprof on its own listener (enable_pprof_on,
// loopback only by validation), never on the API or control listeners.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("enable_pprof_on: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

func level(cfg *config.Config) slog.Level {
	if cfg == nil {
		return slog.LevelInfo
	}
	switch cfg.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
