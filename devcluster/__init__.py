"""kmm's local control plane: a real kube-apiserver with etcd on loopback."""
