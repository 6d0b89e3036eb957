"""scaleout: write a scikit-learn model once, fit it where the data lives.

The same estimators fit in memory (scikit-learn), out of core (Dask) or on
Spark MLlib, and always return a plain-NumPy model.
"""

from . import datasets
from ._config import config_context, get_config, set_config
from ._version import __version__
from .backends.spark.data import from_spark
from .cluster import KMeans
from .compose import ColumnTransformer, make_column_transformer
from .connect import connect
from .data import Dataset, read_csv, read_npy, read_parquet
from .decomposition import PCA
from .engines import available_backends, known_backends
from .explain import explain
from .impute import SimpleImputer
from .incremental import Incremental
from .linear_model import LinearRegression, LogisticRegression
from .persist import load
from .pipeline import Pipeline, make_pipeline
from .preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler
from .tree import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = [
    "PCA",
    "ColumnTransformer",
    "Dataset",
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "Incremental",
    "KMeans",
    "LinearRegression",
    "LogisticRegression",
    "MinMaxScaler",
    "OneHotEncoder",
    "OrdinalEncoder",
    "Pipeline",
    "SimpleImputer",
    "StandardScaler",
    "__version__",
    "available_backends",
    "config_context",
    "connect",
    "datasets",
    "explain",
    "from_spark",
    "get_config",
    "known_backends",
    "load",
    "make_column_transformer",
    "make_pipeline",
    "read_csv",
    "read_npy",
    "read_parquet",
    "set_config",
]
