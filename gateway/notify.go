package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
)

// NotificationChannel is the pub/sub channel nodes share, as in Tyk.
const NotificationChannel = "tyk.cluster.notifications"

// notification is a cluster message. algorithm 5 means the signature is
// the hex SHA-256 of command+payload+node_secret.
type notification struct {
	Command   string `json:"command"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
	Algorithm int    `json:"algorithm"`
}

func (g *Gateway) sign(n *notification) {
	sum := sha256.Sum256([]byte(n.Command + n.Payload + g.Config.NodeSecret))
	n.Signature = hex.EncodeToString(sum[:])
	n.Algorithm = 5
}

func (g *Gateway) verified(n notification) bool {
	if g.Config.AllowInsecureConfigs {
		return true
	}
	want := sha256.Sum256([]byte(n.Command + n.Payload + g.Config.NodeSecret))
	got, err := hex.DecodeString(n.Signature)
	return err == nil && n.Algorithm == 5 && subtle.ConstantTimeCompare(got, want[:]) == 1
}

// GroupReload publishes a signed GroupReload to every node on the store
// (this one included: it hears its own message).
func (g *Gateway) GroupReload(ctx context.Context) error {
	n := notification{Command: "GroupReload"}
	g.sign(&n)
	b, _ := json.Marshal(n)
	return g.Store.Publish(ctx, NotificationChannel, b)
}

// subscribe listens for cluster notifications unless suppressed.
func (g *Gateway) subscribe(ctx context.Context) (func(), error) {
	if g.Config.SuppressRedisSignalReload {
		return func() {}, nil
	}
	return g.Store.Subscribe(ctx, NotificationChannel, func(msg []byte) {
		var n notification
		if err := json.Unmarshal(msg, &n); err != nil {
			g.Log.Warn("ignoring malformed cluster notification", "error", err)
			return
		}
		if !g.verified(n) {
			g.Log.Warn("ignoring cluster notification with a bad signature", "command", n.Command)
			return
		}
		switch n.Command {
		case "GroupReload", "ApiUpdated", "ApiRemoved", "ApiAdded", "PolicyChanged":
			g.Log.Info("cluster notification", "command", n.Command)
			_ = g.Reload(ctx, false)
		}
	})
}
