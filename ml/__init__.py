"""Machine learning on the ontology: models of a class trained from its attributes and from
what its relationships lead to.

* `ml.spec` — `ModelSpec` and per-algorithm hyperparameters;
* `ml.features` — the feature plan read off the compiled ontology (`explain`);
* `ml.frame` — the feature table built through the storage interface (and from given rows);
* `ml.estimators`, `ml.torch_mlp` — the scikit-learn Pipeline (torch only for ``mlp``);
* `ml.train` — cross-validated, baseline-compared, seeded training;
* `ml.artifacts`, `ml.card` — safe artifacts (skops / state_dict, content hash) and cards;
* `ml.records`, `ml.drift`, `ml.workflow` — ad-hoc records, drift, the steps flows run.
"""
