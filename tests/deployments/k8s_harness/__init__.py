"""TEST INFRASTRUCTURE ONLY: a stand-in for a Kubernetes cluster in the worker tests.

No real kube-apiserver can be installed where these tests run, so the tests put together:

- `EmulatedKubeApi` / `KubeApiServer` (api.py): the `kmock` Kubernetes API emulator behind a
  local HTTP port, with the few additions a real API server would make (names from
  `generateName`, uids, `kind`/`apiVersion` on lists, label selectors, pod logs) and an audit
  log of who called which verb on which resource (checked against the worker's Role);
- `TestKubelet` (kubelet.py): a thread that plays kubelet and Job controller at once: for each
  Job it creates the Pod, runs the Job's container command as a local process with the Job's
  environment, and writes Pod and Job status back through the API; a test can inject faults
  (a pod OOM-killed before or while the flow runs) into the Jobs it selects by label.

What this proves and what only a real cluster can is listed in deployments/README.md.
Nothing here is used outside tests/deployments.
"""

from .api import AuditRecord, KubeApiServer, write_kubeconfig
from .kubelet import Execution, Fault, ImageRuntime, TestKubelet

__all__ = [
    "AuditRecord",
    "Execution",
    "Fault",
    "ImageRuntime",
    "KubeApiServer",
    "TestKubelet",
    "write_kubeconfig",
]
