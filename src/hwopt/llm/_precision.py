"""Bytes per value of each numeric format, and the precision of each tensor kind."""

from __future__ import annotations

from dataclasses import dataclass

from hwopt.errors import ConfigError

#: bytes per stored value; int4 counts the packed nibble only (scales are added by Precision)
BYTES = {"fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
#: group size and scale bytes assumed for weight-only int4/int8 quantisation (AWQ/GPTQ style)
QUANT_GROUP = 128
QUANT_SCALE_BYTES = 2.0


def nbytes(dtype: str) -> float:
    try:
        return BYTES[dtype]
    except KeyError:
        raise ConfigError(f"unknown precision {dtype!r}; valid: {', '.join(BYTES)}") from None


@dataclass(frozen=True)
class Precision:
    """Per tensor kind: weights of the linear layers, activations, KV cache.

    Embeddings, norms and the output head stay in ``activations`` precision (what weight-only
    quantisers such as AWQ/GPTQ do). GEMMs run at the activation precision's peak, except that
    fp8/int8 activations with fp8/int8 weights use the fp8/int8 tensor-core peak.
    """

    weights: str = "bf16"
    activations: str = "bf16"
    kv_cache: str = "bf16"

    def __post_init__(self) -> None:
        for kind in ("weights", "activations", "kv_cache"):
            nbytes(getattr(self, kind))
        if self.activations in ("int4", "int8"):
            raise ConfigError(
                f"activations precision {self.activations!r} is not supported; use fp32, bf16, fp16 or fp8"
            )

    @property
    def weight_bytes(self) -> float:
        """Bytes per linear-layer weight, including group-wise scales when quantised."""
        b = nbytes(self.weights)
        if self.weights in ("int4", "int8"):
            b += QUANT_SCALE_BYTES / QUANT_GROUP
        return b

    @property
    def act_bytes(self) -> float:
        return nbytes(self.activations)

    @property
    def kv_bytes(self) -> float:
        return nbytes(self.kv_cache)

    @property
    def compute_dtype(self) -> str:
        if self.activations == "fp8" and self.weights in ("fp8", "int8", "int4"):
            return "fp8"
        return "fp16" if self.activations in ("fp16", "fp8") else self.activations

    @classmethod
    def parse(cls, text: str | None) -> "Precision":
        """``bf16`` (all tensors), or ``weights=int4,kv_cache=fp8`` style overrides."""
        if text is None or text == "":
            return cls()
        if "=" not in text:
            nbytes(text)
            act = text if text in ("fp32", "bf16", "fp16", "fp8") else "fp16"
            return cls(weights=text, activations=act, kv_cache=act)
        kw: dict[str, str] = {}
        for part in text.split(","):
            key, _, val = part.partition("=")
            key = {"w": "weights", "a": "activations", "kv": "kv_cache", "act": "activations"}.get(
                key.strip(), key.strip()
            )
            if key not in ("weights", "activations", "kv_cache"):
                raise ConfigError(
                    f"precision field {key!r} unknown; valid: weights, activations, kv_cache (in {text!r})"
                )
            kw[key] = val.strip()
        return cls(**kw)
