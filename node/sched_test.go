package node

import "runtime"

func runtimeGosched() { runtime.Gosched() }
