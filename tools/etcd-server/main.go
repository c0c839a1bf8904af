// A real etcd server, built from etcd's own Go modules for the tests' version matrix: the same
// entry point as etcd's release binary (etcdmain), so flags, defaults and behaviour are etcd's own.
// scripts/build-etcd.mjs builds it once per version into a cache outside git.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
