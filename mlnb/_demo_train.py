"""Train the demo's churn models: one gradient-boosted model per tree depth, each recorded as a run.

`mlnb demo` copies this file into the demo project as ``train.py`` and runs it, so each run
records this code, its real duration and its validation loss after each boosting stage.
Run it again yourself (``python train.py``) to add runs to the demo's panel.
"""

import mlnb

DEPTHS = (2, 4, 8)
EXPERIMENT = "churn-trees"


def train(depth: int) -> None:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    params = {"max_depth": depth, "n_estimators": 20, "learning_rate": 0.1}
    with mlnb.start_run(f"tree-depth-{depth}", params=params, tags=["demo"], experiment=EXPERIMENT) as run:
        data = mlnb.data.load("customers")  # recorded as the run's input
        X = data.drop(columns="churned").assign(plan=lambda d: d["plan"].astype("category").cat.codes)
        X_train, X_val, y_train, y_val = train_test_split(X, data["churned"], test_size=0.3, random_state=0)
        model = GradientBoostingClassifier(**params, random_state=0).fit(X_train, y_train)
        for step, proba in enumerate(model.staged_predict_proba(X_val)):
            run.log_metric("val_loss", log_loss(y_val, proba[:, 1], labels=[0, 1]), step=step)
        run.log_metric("auc", roc_auc_score(y_val, model.predict_proba(X_val)[:, 1]))


if __name__ == "__main__":
    for depth in DEPTHS:
        train(depth)
