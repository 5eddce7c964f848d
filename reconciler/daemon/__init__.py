"""The reconciliation daemon: a loop of cycles (fetch, discover, plan, report drift, apply where
policy and maintenance windows allow), with health, metrics and graceful shutdown."""
