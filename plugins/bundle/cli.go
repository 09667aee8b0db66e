package bundle

import (
	"bufio"
	"crypto/rsa"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `usage:
  tollgate bundle build [-m manifest.json] [-o bundle.zip] [-k private.pem] [-y]
  tollgate bundle verify BUNDLE.zip [-k public.pem]`

// Defaults of `tollgate bundle build`, as in Tyk's builder.
const (
	DefaultManifest = "manifest.json"
	DefaultOutput   = "bundle.zip"
)

// Command runs `tollgate bundle` with the arguments after "bundle" and
// returns the exit code: 0 done, 1 failed, 2 bad usage.
func Command(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "build":
		return buildCommand(args[1:], stdin, stdout, stderr)
	case "verify":
		return verifyCommand(args[1:], stdout, stderr)
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

func buildCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate bundle build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var manifest, output, keyPath string
	var skip bool
	for _, n := range []string{"m", "manifest"} {
		fs.StringVar(&manifest, n, DefaultManifest, "the manifest to build from")
	}
	for _, n := range []string{"o", "output"} {
		fs.StringVar(&output, n, DefaultOutput, "where to write the bundle")
	}
	for _, n := range []string{"k", "key"} {
		fs.StringVar(&keyPath, n, "", "RSA private key (PEM) to sign the bundle with")
	}
	for _, n := range []string{"y", "skip-signing"} {
		fs.BoolVar(&skip, n, false, "build an unsigned bundle without asking")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if output == DefaultOutput {
		fmt.Fprintf(stderr, "warning: writing to the default output %s\n", DefaultOutput)
	}
	var key *rsa.PrivateKey
	switch {
	case keyPath != "":
		k, err := ReadPrivateKey(keyPath)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", keyPath, err)
			return 1
		}
		key = k
	case skip:
		fmt.Fprintln(stderr, "warning: the bundle will be unsigned")
	default:
		fmt.Fprint(stderr, "No signing key given (-k): the bundle will be unsigned. Type \"y\" to go on: ")
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if !strings.HasPrefix(line, "y") {
			fmt.Fprintln(stderr, "aborted")
			return 1
		}
	}
	m, err := Build(manifest, output, key)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", manifest, err)
		return 1
	}
	signed := "unsigned"
	if m.Signature != "" {
		signed = "signed"
	}
	st, err := os.Stat(output)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes, checksum %s, %s)\n", output, st.Size(), m.Checksum, signed)
	return 0
}

func verifyCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tollgate bundle verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keyPath string
	for _, n := range []string{"k", "key"} {
		fs.StringVar(&keyPath, n, "", "RSA public key (PEM) the signature must match")
	}
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var pub *rsa.PublicKey
	if keyPath != "" {
		if pub, err = ReadPublicKey(keyPath); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", keyPath, err)
			return 1
		}
	}
	m, err := Verify(files[0], pub)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", files[0], err)
		return 1
	}
	var sig string
	switch {
	case pub != nil:
		sig = "signature verified"
	case m.Signature == "":
		sig = "unsigned"
	default:
		sig = "signed (signature not checked: no -k given)"
	}
	fmt.Fprintf(stdout, "%s: ok: checksum %s, %s\n", files[0], m.Checksum, sig)
	return 0
}

// parseInterleaved parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
