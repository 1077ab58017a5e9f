"""Datasets: ``import zerograd.datasets`` (``Spiral``, ``SinCurve``, ``MNIST``, ...)."""
from zerograd.datasets.base import Dataset
from zerograd.datasets.cifar import CIFAR10
from zerograd.cache import DatasetUnavailableError, RemoteFile, cache_root, fetch
from zerograd.datasets.mnist import MNIST, FashionMNIST
from zerograd.datasets.text import Shakespeare
from zerograd.datasets.toy import SinCurve, Spiral, get_spiral

__all__ = ["Dataset", "Spiral", "SinCurve", "MNIST", "FashionMNIST", "CIFAR10", "Shakespeare", "get_spiral",
           "DatasetUnavailableError", "RemoteFile", "cache_root", "fetch"]
