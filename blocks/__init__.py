"""Prefect Block types Mimir registers.

A Block is how a worker (a local process or a Kubernetes pod) finds what a project is
configured with, by name, without access to Mimir's metadata DB.
"""
