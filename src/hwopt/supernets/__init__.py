"""Model spaces: search spaces bound to model factories (super-networks and model families).

``SPACES`` maps names to ModelSpace classes, imported lazily (torch loads only when used).
"""

from hwopt._registry import Registry
from hwopt.supernets._base import ModelSpace

SPACES: Registry[type[ModelSpace]] = Registry("space")
SPACES.register("nb201", "hwopt.supernets.nb201:NB201Space", "NAS-Bench-201 cell network (CIFAR)")
SPACES.register("fbnet", "hwopt.supernets.fbnet:FBNetSpace", "FBNet space of HW-NAS-Bench (CIFAR-100)")
SPACES.register("demo", "hwopt.supernets.demo:DemoSpace",
                "elastic CNN on scikit-learn digits, trained once and cached (the main job's space)")
SPACES.register("ofa-resnet50", "hwopt.supernets.ofa_resnet:OFAResNet50Space",
                "Once-for-All ResNet-50 (--weights loads the official checkpoint)")
SPACES.register("transformer", "hwopt.supernets.transformer:TransformerSpace",
                "elastic transformer encoder (layers, heads, hidden, FFN) on digit patches, trained once and cached")
SPACES.register("ofa-mbv3", "hwopt.supernets.ofa:OFAMobileNetV3Space",
                "Once-for-All MobileNetV3 w1.0/w1.2 (option width; --weights loads the official checkpoint)")

__all__ = ["ModelSpace", "SPACES", "get_space"]


def get_space(name: str, **kwargs) -> ModelSpace:
    """Instantiate the model space ``name`` (e.g. ``"ofa-mbv3"``)."""
    return SPACES.create(name, **kwargs)
