"""Engine-neutral out-of-core kernels: one module per algorithm, written against ``Passes``.

A kernel is a pair of functions, ``check_<algo>_params(params, *, backend)``
(raises :class:`~scaleout.exceptions.UnsupportedOnBackend` naming the engine
given) and ``fit_<algo>(passes, params, *, backend)`` returning the fitted
state under scikit-learn's attribute names. The data arrive through a
:class:`~scaleout.kernels.passes.Passes` executor (in memory here, Dask
threads or ``distributed`` in :mod:`scaleout.backends.dask`); this package
imports no engine.

Modules: :mod:`.passes` (the contract, the per-chunk store, the in-memory
executor), :mod:`.scatter` (centred scatter statistics), :mod:`.linear`
(LinearRegression), :mod:`.logistic` (LogisticRegression), :mod:`.tree`
(DecisionTreeClassifier / Regressor), :mod:`.kmeans` (KMeans), :mod:`.pca`
(PCA).
"""
