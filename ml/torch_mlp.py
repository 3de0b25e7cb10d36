"""A PyTorch multilayer perceptron for tabular data, as scikit-learn estimators.

They take the preprocessed (imputed, encoded, scaled) matrix, so they sit at the end of the
same Pipeline as every other algorithm and cross-validation treats them alike. Saved as a
``state_dict`` plus `architecture()` (never pickled), rebuilt by `from_saved`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from torch import nn


def _device(choice: str) -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def network(n_inputs: int, hidden_layers: list[int], n_outputs: int, dropout: float) -> nn.Module:
    """Linear → ReLU (→ Dropout) blocks, then a linear output layer."""
    layers: list[nn.Module] = []
    width = n_inputs
    for units in hidden_layers:
        layers += [nn.Linear(width, units), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = units
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


class _TorchMLP(BaseEstimator):
    """Shared training loop (Adam, mini-batches, seeded)."""

    def __init__(self, hidden_layers: list[int] | None = None, epochs: int = 100,
                 learning_rate: float = 1e-3, batch_size: int = 64, weight_decay: float = 0.0,
                 dropout: float = 0.0, device: str = "auto", seed: int = 0) -> None:
        self.hidden_layers = hidden_layers
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.device = device
        self.seed = seed

    def _outputs(self) -> int:
        raise NotImplementedError

    def _loss(self) -> nn.Module:
        raise NotImplementedError

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        raise NotImplementedError

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        device = _device(self.device)
        self.n_features_in_ = x.shape[1]
        self.module_ = network(self.n_features_in_, list(self.hidden_layers or [64, 64]),
                               self._outputs(), self.dropout).to(device)
        inputs = torch.as_tensor(np.asarray(x, dtype=np.float32))
        targets = self._targets(y)
        optimiser = torch.optim.Adam(self.module_.parameters(), lr=self.learning_rate,
                                     weight_decay=self.weight_decay)
        loss_fn = self._loss()
        self.module_.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(inputs), generator=generator)
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                optimiser.zero_grad()
                loss = loss_fn(self.module_(inputs[batch].to(device)), targets[batch].to(device))
                loss.backward()
                optimiser.step()
        self.module_.eval()
        self.module_.to("cpu")

    def _raw(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.module_(torch.as_tensor(np.asarray(x, dtype=np.float32)))
        return out.numpy()

    def architecture(self) -> dict[str, Any]:
        """Everything besides the weights needed to rebuild the fitted network."""
        return {"n_inputs": int(self.n_features_in_),
                "hidden_layers": list(self.hidden_layers or [64, 64]),
                "n_outputs": self._outputs(), "dropout": self.dropout,
                "params": self.get_params()}


class TorchMLPClassifier(ClassifierMixin, _TorchMLP):
    """MLP with a softmax output, trained with cross-entropy."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> TorchMLPClassifier:
        self.classes_, encoded = np.unique(np.asarray(y), return_inverse=True)
        self._fit(x, encoded)
        return self

    def _outputs(self) -> int:
        return len(self.classes_)

    def _loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(y, dtype=torch.long)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in `classes_` order."""
        raw = torch.as_tensor(self._raw(x))
        return torch.softmax(raw, dim=1).numpy().astype(np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most probable class."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(x), axis=1)])

    def architecture(self) -> dict[str, Any]:
        """Network shape plus the class labels."""
        return {**super().architecture(), "classes": [str(c) for c in self.classes_]}


class TorchMLPRegressor(RegressorMixin, _TorchMLP):
    """MLP with one linear output, trained with mean squared error on a standardised target."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> TorchMLPRegressor:
        y = np.asarray(y, dtype=np.float64)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        self._fit(x, (y - self.y_mean_) / self.y_scale_)
        return self

    def _outputs(self) -> int:
        return 1

    def _loss(self) -> nn.Module:
        return nn.MSELoss()

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(y, dtype=np.float32)).reshape(-1, 1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted values in the target's units."""
        return self._raw(x).reshape(-1).astype(np.float64) * self.y_scale_ + self.y_mean_

    def architecture(self) -> dict[str, Any]:
        """Network shape plus the target's scaling."""
        return {**super().architecture(), "y_mean": self.y_mean_, "y_scale": self.y_scale_}


def state_bytes(model: _TorchMLP) -> bytes:
    """The fitted weights as a torch ``state_dict`` file."""
    import io

    buffer = io.BytesIO()
    torch.save(model.module_.state_dict(), buffer)
    return buffer.getvalue()


def from_saved(architecture: dict[str, Any], weights: bytes) -> _TorchMLP:
    """Rebuild a fitted estimator; weights load with ``weights_only=True`` (no pickle code)."""
    import io

    params = dict(architecture["params"])
    model: _TorchMLP
    if "classes" in architecture:
        clf = TorchMLPClassifier(**params)
        clf.classes_ = np.array(architecture["classes"], dtype=object)
        model = clf
    else:
        reg = TorchMLPRegressor(**params)
        reg.y_mean_ = float(architecture["y_mean"])
        reg.y_scale_ = float(architecture["y_scale"])
        model = reg
    model.n_features_in_ = int(architecture["n_inputs"])
    module = network(model.n_features_in_, list(architecture["hidden_layers"]),
                     int(architecture["n_outputs"]), float(architecture["dropout"]))
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    module.eval()
    model.module_ = module
    return model
