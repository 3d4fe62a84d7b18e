// Command agentkeys lists the keys of the SSH agent at $SSH_AUTH_SOCK. Tests
// copy it, statically built, into a build context, so a RUN
// --mount=type=ssh step can show which keys were forwarded to it.
package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func main() {
	conn, err := net.Dial("unix", os.Getenv("SSH_AUTH_SOCK"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentkeys:", err)
		os.Exit(1)
	}
	defer conn.Close()
	keys, err := agent.NewClient(conn).List()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentkeys:", err)
		os.Exit(1)
	}
	for _, k := range keys {
		fmt.Printf("%s %s\n", ssh.FingerprintSHA256(k), k.Comment)
	}
	if len(keys) == 0 {
		fmt.Println("no keys")
		os.Exit(1)
	}
}
