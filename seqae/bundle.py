"""A trained model bundled with the feature settings it was trained on (``RUN/model.pt``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqae.config import FeatureConfig, ModelConfig, config_from_dict
from seqae.data import pad_batch
from seqae.errors import SeqaeError
from seqae.models import SequenceAutoencoder
from seqae.models.registry import MODEL_KINDS, ModelKind, register_model
from seqae.runs import MODEL_FILE, save_torch_atomic

FORMAT_VERSION = 1
BUNDLE_NAME = MODEL_FILE


@dataclass
class ModelBundle:
    """An autoencoder, its configs, and an id that names these exact weights."""

    model: SequenceAutoencoder
    features: FeatureConfig
    model_id: str
    path: Path
    modality: str = "audio"  # what the model reads (a TextModelBundle: "text")

    @property
    def embedding_dim(self) -> int:
        return self.model.config.embedding_dim

    def settings(self) -> dict:
        """The input settings that travel with the vectors (an index checks them)."""
        return self.features.to_dict()

    def check_features(self, features: FeatureConfig) -> None:
        """Refuse features computed with settings other than the training ones."""
        if features != self.features:
            raise SeqaeError(
                f"{self.path}: model was trained on features {self.features.to_dict()}, "
                f"got {features.to_dict()}"
            )

    @torch.no_grad()
    def embed(self, sequences: list[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """(N,) list of (T_i, D) arrays -> (N, E) float32 embeddings, in input order."""
        self.model.eval()
        out = np.zeros((len(sequences), self.embedding_dim), dtype=np.float32)
        order = np.argsort([len(s) for s in sequences], kind="stable")  # similar lengths together
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            frames, lengths = pad_batch([sequences[i] for i in rows])
            if frames.size(-1) != self.model.config.input_dim:
                raise SeqaeError(
                    f"{self.path}: model expects {self.model.config.input_dim}-dim "
                    f"frames, got {frames.size(-1)}"
                )
            out[rows] = self.model.embed(frames, lengths).numpy()
        return out


def _weights_id(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def save_bundle(path: Path, model: SequenceAutoencoder, features: FeatureConfig) -> str:
    """Write the model, its configs and its id atomically; returns the model id."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    model_id = _weights_id(state)
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": "seqae-model",
        "model_id": model_id,
        "model_config": model.config.to_dict(),
        "feature_config": features.to_dict(),
        "state_dict": state,
    }
    save_torch_atomic(payload, path)
    return model_id


def load_bundle(run: str | Path):
    """Load ``RUN/model.pt`` (or a bundle file given directly) for inference on the CPU,
    whichever registered model it holds."""
    run = Path(run)
    path = run / BUNDLE_NAME if run.is_dir() else run
    if not path.is_file():
        raise SeqaeError(f"{path}: no trained model here (run 'seqae train' first)")
    payload = read_torch_file(path, "model")
    kind = MODEL_KINDS.get(payload.get("kind")) if isinstance(payload, dict) else None
    if kind is None:
        raise SeqaeError(f"{path}: not a seqae model file")
    return kind.from_payload(payload, path)  # which checks the format version it reads


def speech_bundle_from_payload(payload: dict, path: Path) -> ModelBundle:
    """The speech autoencoder of a loaded ``model.pt`` payload of kind ``seqae-model``."""
    if payload.get("format_version") != FORMAT_VERSION:
        raise SeqaeError(
            f"{path}: model format {payload.get('format_version')} is not "
            f"{FORMAT_VERSION}; re-train or upgrade seqae"
        )
    model = SequenceAutoencoder(config_from_dict(ModelConfig, payload["model_config"]))
    load_weights(model, payload["state_dict"])
    model.eval()
    features = config_from_dict(FeatureConfig, payload["feature_config"])
    return ModelBundle(model=model, features=features, model_id=payload["model_id"], path=path)


def _text_bundle_from_payload(payload: dict, path: Path):
    from seqae.text.bundle import text_bundle_from_payload  # the text stack, when it is needed

    return text_bundle_from_payload(payload, path)


register_model(ModelKind("speech", "seqae-model", "audio", speech_bundle_from_payload))
register_model(ModelKind("text", "seqae-text-model", "text", _text_bundle_from_payload))


def read_torch_file(path: Path, what: str) -> object:
    """``torch.load`` (tensors and plain data only), with one line saying what is wrong with
    a file that cannot be read: empty, not a torch file at all, or cut short."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError as error:
        raise SeqaeError(f"{path}: cannot read ({error.strerror or error})") from None
    if not head:
        raise SeqaeError(f"{path}: empty {what} file (0 bytes); re-train or restore it")
    if head != b"PK\x03\x04":  # every torch.save file is a zip archive
        raise SeqaeError(f"{path}: not a seqae {what} file (not a file torch.save wrote)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        raise SeqaeError(
            f"{path}: damaged or cut short (a killed copy or a full disk?); re-train or "
            f"restore the {what} file"
        ) from None


STANDARDISATION = ("embedding_mean", "embedding_scale")  # absent from older bundles


def load_weights(model: SequenceAutoencoder, state: dict[str, torch.Tensor]) -> None:
    """Load a state dict; one saved before embeddings were standardised keeps them as they
    were (mean 0, deviation 1)."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) - set(STANDARDISATION):
        model.load_state_dict(state)  # raises, naming what does not fit
