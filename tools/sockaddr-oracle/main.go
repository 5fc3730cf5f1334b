// sockaddr-oracle runs go-sockaddr's template language (template.ParseIfAddrs) over a made-up
// host, so ctmpl's `sockaddr` can be checked against the real library without depending on
// this machine's interfaces. Input (stdin): JSON {"host": [{"name", "index", "flags",
// "addr"}], "cases": [TEMPLATE, ...]}; each template runs with the host's addresses as dot.
// Output (stdout): one JSON object per case, {"out": TEXT} or {"err": MESSAGE}.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"

	sockaddr "github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/go-sockaddr/template"
)

type hostAddr struct {
	Name  string   `json:"name"`
	Index int      `json:"index"`
	Flags []string `json:"flags"`
	Addr  string   `json:"addr"`
}

type input struct {
	Host  []hostAddr `json:"host"`
	Cases []string   `json:"cases"`
}

var flagBits = map[string]net.Flags{
	"up":           net.FlagUp,
	"broadcast":    net.FlagBroadcast,
	"loopback":     net.FlagLoopback,
	"pointtopoint": net.FlagPointToPoint,
	"multicast":    net.FlagMulticast,
	"running":      net.FlagRunning,
}

func ifAddrs(host []hostAddr) (sockaddr.IfAddrs, error) {
	var out sockaddr.IfAddrs
	for _, h := range host {
		ip, err := sockaddr.NewIPAddr(h.Addr)
		if err != nil {
			return nil, err
		}
		var flags net.Flags
		for _, f := range h.Flags {
			bit, ok := flagBits[f]
			if !ok {
				return nil, fmt.Errorf("unknown flag %q", f)
			}
			flags |= bit
		}
		intf := net.Interface{Index: h.Index, MTU: 1500, Name: h.Name, Flags: flags}
		out = append(out, sockaddr.IfAddr{SockAddr: ip, Interface: intf})
	}
	return out, nil
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	addrs, err := ifAddrs(in.Host)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	for _, c := range in.Cases {
		out, err := template.ParseIfAddrs(c, addrs)
		result := map[string]string{"out": out}
		if err != nil {
			result = map[string]string{"err": err.Error()}
		}
		if err := enc.Encode(result); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
}
