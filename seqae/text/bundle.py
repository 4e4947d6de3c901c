"""A trained sentence autoencoder bundled with its tokenizer (``RUN/model.pt``).

The tokenizer's vocabulary (or sentencepiece model) lives in the same file as the weights,
so a copy of the file (an index directory holds one) reads text exactly as in training.
``seqae.bundle.load_bundle`` opens these files too; a text bundle asked for audio feature
settings refuses with a one-line error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqae.errors import SeqaeError
from seqae.models.text_autoencoder import TextAutoencoder
from seqae.models.token_search import beam_search, greedy_decode
from seqae.runs import save_torch_atomic
from seqae.text.config import TextModelConfig
from seqae.text.tokenizers import PAD, Tokenizer, tokenizer_from_state

FORMAT_VERSION = 1
KIND = "seqae-text-model"


def pad_ids(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists -> padded ids (B, T_max) int64 and lengths (B,) int64."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)
    batch = torch.full((len(sequences), int(lengths.max())), PAD, dtype=torch.int64)  # (B, T)
    for row, ids in enumerate(sequences):
        batch[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.int64)
    return batch, lengths


@dataclass
class TextModelBundle:
    """A sentence autoencoder, its tokenizer, and an id that names both."""

    model: TextAutoencoder
    tokenizer: Tokenizer
    model_id: str
    path: Path
    modality: str = "text"

    @property
    def embedding_dim(self) -> int:
        return self.model.config.embedding_dim

    @property
    def features(self) -> Any:
        raise SeqaeError(
            f"{self.path}: a text model (trained with --modality text); it reads sentences, "
            "not audio"
        )

    def settings(self) -> dict[str, Any]:
        """What the model reads: stored with its embeddings and indexes."""
        return {"modality": "text", "tokenizer": self.tokenizer.config.to_dict()}

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each sentence; a sentence without any token is refused."""
        ids = [self.tokenizer.encode(text) for text in texts]
        for text, tokens in zip(texts, ids, strict=True):
            if not tokens:
                raise SeqaeError(f"no tokens in the sentence {text!r}")
        return ids

    def _batches(self, texts: list[str], batch_size: int):
        """(rows, padded ids (B, T), lengths (B,)) with sentences of similar length together."""
        ids = self.encode(texts)
        order = np.argsort([len(i) for i in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            yield (rows, *pad_ids([ids[i] for i in rows]))

    @torch.no_grad()
    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(N,) sentences -> (N, E) float32 sentence vectors, in input order."""
        self.model.eval()
        out = np.zeros((len(texts), self.embedding_dim), dtype=np.float32)
        for rows, ids, lengths in self._batches(texts, batch_size):
            out[rows] = self.model.embed(ids, lengths).numpy()
        return out

    @torch.no_grad()
    def reconstruct_ids(
        self, texts: list[str], beam: int = 1, batch_size: int = 64
    ) -> list[list[int]]:
        """Each sentence encoded and decoded again (greedy, or beam search of width ``beam``)."""
        self.model.eval()
        out: list[list[int]] = [[] for _ in texts]
        for rows, ids, lengths in self._batches(texts, batch_size):
            z = self.model.embed(ids, lengths)  # (B, E)
            steps = 2 * int(lengths.max()) + 10  # a cap only; decoding stops at <eos>
            decoded = (
                greedy_decode(self.model.decoder, z, steps)
                if beam <= 1
                else beam_search(self.model.decoder, z, beam, steps)
            )
            for row, tokens in zip(rows, decoded, strict=True):
                out[row] = tokens
        return out

    def reconstruct(self, texts: list[str], beam: int = 1, batch_size: int = 64) -> list[str]:
        """Each sentence as the model rebuilds it from its vector."""
        return [self.tokenizer.decode(t) for t in self.reconstruct_ids(texts, beam, batch_size)]


def _bundle_id(state: dict[str, torch.Tensor], tokenizer: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    digest.update(json.dumps(tokenizer, sort_keys=True, default=bytes.hex).encode())
    return digest.hexdigest()[:16]


def save_text_bundle(path: Path, model: TextAutoencoder, tokenizer: Tokenizer) -> str:
    """Write the model, its config and its tokenizer atomically; returns the model id."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    model_id = _bundle_id(state, tokenizer.state())
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "model_id": model_id,
        "model_config": model.config.to_dict(),
        "tokenizer": tokenizer.state(),
        "state_dict": state,
    }
    save_torch_atomic(payload, path)
    return model_id


def text_bundle_from_payload(payload: dict[str, Any], path: Path) -> TextModelBundle:
    """Build the bundle from a loaded ``model.pt`` payload of kind ``seqae-text-model``."""
    if payload.get("format_version") != FORMAT_VERSION:
        raise SeqaeError(
            f"{path}: text model format {payload.get('format_version')} is not "
            f"{FORMAT_VERSION}; re-train or upgrade seqae"
        )
    model = TextAutoencoder(TextModelConfig.from_dict(payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    tokenizer = tokenizer_from_state(payload["tokenizer"])
    return TextModelBundle(model, tokenizer, payload["model_id"], path)


def load_text_bundle(run: str | Path) -> TextModelBundle:
    """Load a sentence autoencoder for inference; an audio model is refused in one line."""
    from seqae.bundle import load_bundle

    bundle = load_bundle(run)
    if bundle.modality != "text":
        raise SeqaeError(
            f"{bundle.path}: an audio model (trained on speech); it reads audio, not text "
            "(train one with 'seqae train --modality text')"
        )
    return bundle
