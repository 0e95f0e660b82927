// Command kmm-apiserver is the multi-call binary of kmm's local control plane
// (make run, make cluster, make test): one link of one k8s.io/kubernetes module
// graph, so kube-apiserver, kube-scheduler and kube-controller-manager share every
// compiled package. kubectl and KWOK (./kubectl, ./kwok) are built in the same
// module graph and the same `go build`, so they share those packages too.
//
// Usage:
//
//	kmm-apiserver --etcd-dir DIR --etcd-client-url URL --etcd-peer-url URL -- <kube-apiserver flags>
//	kmm-apiserver scheduler [--exit-with-stdin] -- <kube-scheduler flags>
//	kmm-apiserver controller-manager [--exit-with-stdin] -- <kube-controller-manager flags>
//
// The first form runs kube-apiserver with an embedded etcd.
// Flags after "--" go to kube-apiserver unchanged; --etcd-servers is added here.
// The Python side (devcluster/controlplane.py) owns the certificates, tokens and
// every kube-apiserver flag, so the same configuration also drives separate
// kube-apiserver and etcd binaries (KUBEBUILDER_ASSETS).
package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "scheduler":
			runComponent(scheduler.NewSchedulerCommand(), os.Args[2:])
		case "controller-manager":
			runComponent(controllermanager.NewControllerManagerCommand(), os.Args[2:])
		}
	}
	runAPIServer()
}

// runComponent runs kube-scheduler or kube-controller-manager with the flags after "--".
func runComponent(cmd *cobra.Command, args []string) {
	ours, rest := splitArgs(args)
	flags := flag.NewFlagSet(cmd.Name(), flag.ExitOnError)
	exitWithStdin := flags.Bool("exit-with-stdin", false, "shut down when stdin closes (the parent died)")
	_ = flags.Parse(ours)
	if *exitWithStdin {
		go shutdownWhenStdinCloses()
	}
	cmd.SetArgs(rest)
	os.Exit(cli.Run(cmd))
}

func runAPIServer() {
	ours, apiserverArgs := splitArgs(os.Args[1:])

	flags := flag.NewFlagSet("kmm-apiserver", flag.ExitOnError)
	etcdDir := flags.String("etcd-dir", "", "etcd data directory (required)")
	clientURL := flags.String("etcd-client-url", "http://127.0.0.1:2379", "etcd client URL (loopback)")
	peerURL := flags.String("etcd-peer-url", "http://127.0.0.1:2380", "etcd peer URL (loopback)")
	etcdLog := flags.String("etcd-log", "stderr", "where etcd writes its log")
	exitWithStdin := flags.Bool("exit-with-stdin", false, "shut down when stdin closes (the parent died)")
	_ = flags.Parse(ours)
	if *etcdDir == "" {
		fail("--etcd-dir is required")
	}

	etcd, err := startEtcd(*etcdDir, *clientURL, *peerURL, *etcdLog)
	if err != nil {
		fail("etcd: %v", err)
	}
	fmt.Fprintf(os.Stderr, "kmm-apiserver: etcd ready at %s\n", *clientURL)

	if *exitWithStdin {
		go shutdownWhenStdinCloses()
	}

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(append(apiserverArgs, "--etcd-servers="+*clientURL))
	code := cli.Run(cmd)

	etcd.Close()
	os.Exit(code)
}

func splitArgs(args []string) (ours, rest []string) {
	for i, arg := range args {
		if arg == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

func startEtcd(dir, clientURL, peerURL, logOutput string) (*embed.Etcd, error) {
	client, err := url.Parse(clientURL)
	if err != nil {
		return nil, err
	}
	peer, err := url.Parse(peerURL)
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "kmm-devcluster"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{logOutput}
	// Throwaway development data: skipping fsync makes the control plane fast
	// on small CI disks; durability is not a goal here.
	cfg.UnsafeNoFsync = true

	etcd, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-etcd.Server.ReadyNotify():
		return etcd, nil
	case err := <-etcd.Err():
		etcd.Close()
		return nil, err
	case <-time.After(60 * time.Second):
		etcd.Close()
		return nil, fmt.Errorf("not ready after 60s")
	}
}

// shutdownWhenStdinCloses turns the parent's death (its end of our stdin pipe
// closing) into the SIGTERM kube-apiserver already handles gracefully, so no
// orphaned control plane outlives a killed test run.
func shutdownWhenStdinCloses() {
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Fprintln(os.Stderr, "kmm-apiserver: stdin closed, shutting down")
	_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(30 * time.Second)
	fail("graceful shutdown took over 30s")
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kmm-apiserver: "+format+"\n", args...)
	os.Exit(1)
}
