"""Customer models: churn, purchase propensity and product-category propensity.

Plain Python (no Dagster import); assets/models.py wires it into the code location.

* :mod:`.training_frames`: out-of-time windows (features before a cutoff, outcomes in the
  horizon after it), stacked training windows and the customer split.
* :mod:`.trading_clock`: time measured in days of average store demand (seasonality).
* :mod:`.btyd`: the BG/NBD and Pareto/NBD models (maximum likelihood, P(alive), expected
  purchases).
* :mod:`.model_inputs`: the feature preparation every model pipeline starts with.
* :mod:`.classifiers`: the candidates and the calibrated, self-explaining registered model.
* :mod:`.calibration`: Platt maps over the stacked windows that follow the base rate.
* :mod:`.value`: Gamma-Gamma order value, the 12-month lifetime value, the next order.
* :mod:`.churn`, :mod:`.propensity`, :mod:`.product_propensity`: training and scoring.
* :mod:`.evaluation`, :mod:`.explanations`: metrics, calibration plot, reasons.
* :mod:`.tracking`, :mod:`.model_runs`: MLflow logging, champion/challenger, loading.
* :mod:`.demo_truth`: the proof against the demo generator's truth.
"""
