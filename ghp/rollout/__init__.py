"""Rolling out policies: where work runs (backends), evaluation of many architectures, play."""
