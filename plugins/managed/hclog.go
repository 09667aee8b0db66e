package managed

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// slogger lets go-plugin (which logs through hclog) write to the gateway's
// slog logger: the plugin's own log lines, which go-plugin parses from its
// stderr, and go-plugin's messages about the process.
type slogger struct {
	l     *slog.Logger
	name  string
	args  []any
	level hclog.Level
}

func newSlogger(l *slog.Logger) hclog.Logger {
	return &slogger{l: l, level: hclog.Debug}
}

var toSlog = map[hclog.Level]slog.Level{
	hclog.Trace: slog.LevelDebug - 4,
	hclog.Debug: slog.LevelDebug,
	hclog.Info:  slog.LevelInfo,
	hclog.Warn:  slog.LevelWarn,
	hclog.Error: slog.LevelError,
}

func (s *slogger) Log(level hclog.Level, msg string, args ...any) {
	lv, ok := toSlog[level]
	if !ok {
		lv = slog.LevelInfo
	}
	if level < s.level || !s.l.Enabled(context.Background(), lv) {
		return
	}
	all := make([]any, 0, len(s.args)+len(args)+2)
	if s.name != "" {
		all = append(all, "source", s.name)
	}
	all = append(all, s.args...)
	all = append(all, args...)
	s.l.Log(context.Background(), lv, msg, all...)
}

func (s *slogger) Trace(msg string, args ...any) { s.Log(hclog.Trace, msg, args...) }
func (s *slogger) Debug(msg string, args ...any) { s.Log(hclog.Debug, msg, args...) }
func (s *slogger) Info(msg string, args ...any)  { s.Log(hclog.Info, msg, args...) }
func (s *slogger) Warn(msg string, args ...any)  { s.Log(hclog.Warn, msg, args...) }
func (s *slogger) Error(msg string, args ...any) { s.Log(hclog.Error, msg, args...) }

func (s *slogger) enabled(l hclog.Level) bool {
	return l >= s.level && s.l.Enabled(context.Background(), toSlog[l])
}

func (s *slogger) IsTrace() bool { return s.enabled(hclog.Trace) }
func (s *slogger) IsDebug() bool { return s.enabled(hclog.Debug) }
func (s *slogger) IsInfo() bool  { return s.enabled(hclog.Info) }
func (s *slogger) IsWarn() bool  { return s.enabled(hclog.Warn) }
func (s *slogger) IsError() bool { return s.enabled(hclog.Error) }

func (s *slogger) ImpliedArgs() []any { return s.args }

func (s *slogger) With(args ...any) hclog.Logger {
	c := *s
	c.args = append(append([]any{}, s.args...), args...)
	return &c
}

func (s *slogger) Name() string { return s.name }

func (s *slogger) Named(name string) hclog.Logger {
	c := *s
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (s *slogger) ResetNamed(name string) hclog.Logger {
	c := *s
	c.name = name
	return &c
}

func (s *slogger) SetLevel(l hclog.Level) { s.level = l }
func (s *slogger) GetLevel() hclog.Level  { return s.level }

func (s *slogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(s.StandardWriter(opts), "", 0)
}

func (s *slogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineWriter{log: func(line string) { s.Info(line) }}
}

// lineWriter logs each line written to it.
type lineWriter struct {
	log  func(string)
	mu   sync.Mutex
	part []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.part = append(w.part, p...)
	for {
		i := strings.IndexByte(string(w.part), '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.part[:i]), "\r"); line != "" {
			w.log(line)
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}
