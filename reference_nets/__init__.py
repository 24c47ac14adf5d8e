"""Reference torch networks: one file per search space, each with a weight-sharing supernet
(``forward(x, arch)``) and the standalone network of one arch."""
