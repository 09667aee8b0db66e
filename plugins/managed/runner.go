package managed

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
)

// procRunner runs the plugin executable for go-plugin and tells the
// supervisor when it exits (go-plugin itself only offers polling).
type procRunner struct {
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser
	pid            int
	exited         chan struct{}
}

func newRunner(cmd *exec.Cmd) (*procRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{cmd: cmd, stdout: stdout, stderr: stderr, exited: make(chan struct{})}, nil
}

func (p *procRunner) Start(context.Context) error {
	if err := p.cmd.Start(); err != nil {
		close(p.exited)
		return err
	}
	p.pid = p.cmd.Process.Pid
	return nil
}

// Wait is called once by go-plugin after a successful Start.
func (p *procRunner) Wait(context.Context) error {
	defer close(p.exited)
	return p.cmd.Wait()
}

func (p *procRunner) Kill(context.Context) error {
	if p.cmd.Process == nil {
		return nil
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (p *procRunner) Diagnose(context.Context) string {
	return "is " + p.cmd.Path + " a Tollgate plugin built with plugins/sdk?"
}

func (p *procRunner) Stdout() io.ReadCloser { return p.stdout }
func (p *procRunner) Stderr() io.ReadCloser { return p.stderr }
func (p *procRunner) Name() string          { return p.cmd.Path }
func (p *procRunner) ID() string {
	if p.pid == 0 {
		return ""
	}
	return strconv.Itoa(p.pid)
}

func (p *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (p *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}
