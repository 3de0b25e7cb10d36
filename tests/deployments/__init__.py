"""Tests of deployments/ (Kubernetes manifests, work pool template, images) and prefect.yaml."""
