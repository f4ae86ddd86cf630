package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

// serve runs one of the Go echo servers until SIGTERM; it prints "ready"
// once it listens.
func serve(kind, listen string, buffer int) error {
	switch kind {
	case "gonet":
		return serveGoNet(listen, buffer)
	case "gnet":
		return serveGnet(listen, buffer)
	}
	return fmt.Errorf("-serve %q: give gonet or gnet", kind)
}

// serveGoNet is the plain Go server: a goroutine per connection that reads
// up to buffer bytes and writes them back.
func serveGoNet(listen string, buffer int) error {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		l.Close()
	}()
	fmt.Println("ready")
	for {
		c, err := l.Accept()
		if err != nil {
			return nil
		}
		go func() {
			defer c.Close()
			buf := make([]byte, buffer)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
}

type gnetEcho struct {
	gnet.BuiltinEventEngine
	eng    gnet.Engine
	buffer int
}

func (e *gnetEcho) OnBoot(eng gnet.Engine) gnet.Action {
	e.eng = eng
	fmt.Println("ready")
	return gnet.None
}

// OnTraffic echoes what came in, at most buffer bytes at a time like the
// other servers.
func (e *gnetEcho) OnTraffic(c gnet.Conn) gnet.Action {
	for c.InboundBuffered() > 0 {
		b, err := c.Next(min(e.buffer, c.InboundBuffered()))
		if err != nil {
			return gnet.Close
		}
		if _, err := c.Write(b); err != nil {
			return gnet.Close
		}
	}
	return gnet.None
}

func serveGnet(listen string, buffer int) error {
	h := &gnetEcho{buffer: buffer}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		h.eng.Stop(context.Background())
	}()
	return gnet.Run(h, "tcp://"+listen, gnet.WithMulticore(false), gnet.WithNumEventLoop(1), gnet.WithReusePort(false), gnet.WithLogLevel(logging.ErrorLevel))
}
