package jsvm

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/dop251/goja"
)

func TestBodyBytesSurviveJavaScript(t *testing.T) {
	rt := goja.New()
	inputs := [][]byte{nil, []byte("plain"), []byte("héllo €𝄞"), []byte("a\xff\x00b\xef\xbf\xbf"), []byte("\xed\xa0\x80"), []byte("\xc3(\xe2\x82")}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		b := make([]byte, rng.IntN(64))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		if out := valueBytes(bytesValue(rt, in)); !bytes.Equal(out, in) && len(in) > 0 {
			t.Fatalf("%q came back as %q", in, out)
		}
		// Appending text in JavaScript keeps the original bytes in front.
		_ = rt.Set("b", bytesValue(rt, in))
		v, err := rt.RunString(`b + "!"`)
		if err != nil {
			t.Fatal(err)
		}
		if out := valueBytes(v); !bytes.Equal(out, append(append([]byte{}, in...), '!')) {
			t.Fatalf("%q + ! came back as %q", in, out)
		}
	}
}
