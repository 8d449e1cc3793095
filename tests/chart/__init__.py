"""Tests of the Helm chart, the Dockerfiles and skaffold.yaml."""
