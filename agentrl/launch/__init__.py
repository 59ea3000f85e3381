"""Starting and reaching Ray: local clusters, existing clusters, job submission."""
