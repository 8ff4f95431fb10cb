"""``mlnb models ...`` / ``%mlops models ...``: thin verbs over :mod:`mlnb.models`."""

from __future__ import annotations

from typing import Any

from ..cli import add_json_flag, add_verb


def _models():  # type: ignore[no-untyped-def]
    from .. import models

    return models


def register(sub: Any) -> None:
    parser = add_verb(sub, "models", lambda a, c: _models().list_models(),
                      "model registry: versions through DVC, aliases, gated promotion, rollback")
    add_json_flag(parser)
    verbs = parser.add_subparsers(title="models commands", metavar="VERB", parser_class=type(parser))

    p = add_verb(verbs, "list", lambda a, c: _models().list_models(),
                 "one row per model: versions, aliases, latest metrics")
    add_json_flag(p)

    p = add_verb(verbs, "log", lambda a, c: _models().log(a.name), "every version of a model, newest first")
    p.add_argument("name")
    add_json_flag(p)

    p = add_verb(verbs, "show", lambda a, c: _models().show(a.ref),
                 "one version: lineage, metrics, signature, evaluations")
    p.add_argument("ref", help="NAME@VERSION, NAME@ALIAS or NAME (latest)")
    add_json_flag(p)

    p = add_verb(verbs, "path", _path, "a local path holding a version's file or folder (fetched from the remote when not cached)")
    p.add_argument("ref", help="NAME@VERSION, NAME@ALIAS or NAME (latest)")
    add_json_flag(p)

    p = add_verb(verbs, "evaluate",
                 lambda a, c: _models().evaluate(a.ref, a.data, target=a.target, trusted=a.trusted),
                 "score a version on a data version and store the metrics on it")
    p.add_argument("ref")
    p.add_argument("--data", required=True, help="data version, e.g. holdout@2")
    p.add_argument("--target", help="label column (default: the one column not in the signature)")
    p.add_argument("--trusted", action="store_true", help="allow loading a pickle- or joblib-format model")
    add_json_flag(p)

    p = add_verb(verbs, "promote",
                 lambda a, c: _models().promote(a.ref, to=a.to, gates=a.gate or [], force=a.force,
                                                reason=a.reason, data=a.data, target=a.target,
                                                git_tag=a.git_tag),
                 "move an alias to a version when every gate passes (exit 1 when a gate refuses)")
    p.add_argument("ref")
    p.add_argument("--to", required=True, help="alias, e.g. champion")
    p.add_argument("--gate", action="append", help="a gate; repeat for several (see docs/models.md)")
    p.add_argument("--data", help="holdout data version for the schema and drift gates")
    p.add_argument("--target", help="label column of the holdout")
    p.add_argument("--force", action="store_true", help="move even when gates fail (needs --reason)")
    p.add_argument("--reason", default="", help="why: recorded in the alias history")
    _git_tag_flag(p)
    add_json_flag(p)

    p = add_verb(verbs, "rollback",
                 lambda a, c: _models().rollback(a.name, a.alias, reason=a.reason, git_tag=a.git_tag),
                 "give an alias back to its previous holder (from the history)")
    p.add_argument("name")
    p.add_argument("--alias", required=True)
    p.add_argument("--reason", default="")
    _git_tag_flag(p)
    add_json_flag(p)

    p = add_verb(verbs, "alias", _alias, "point an alias at a version without gates, or --remove it")
    p.add_argument("ref", help="NAME@VERSION (or NAME with --remove)")
    p.add_argument("alias")
    p.add_argument("--remove", action="store_true", help="take the alias off the model")
    p.add_argument("--reason", default="")
    _git_tag_flag(p)
    add_json_flag(p)

    p = add_verb(verbs, "history", lambda a, c: _models().history(a.name, alias=a.alias),
                 "every alias move: who, when, from, to, why, gates")
    p.add_argument("name")
    p.add_argument("--alias", help="one alias only")
    add_json_flag(p)

    p = add_verb(verbs, "ab-test",
                 lambda a, c: _models().ab_test(a.name, outcome=a.outcome, control=a.control, start=a.start,
                                                end=a.end, routing=a.routing),
                 "compare the live arms on logged outcomes: rates or means, difference with 95 % CI, p-value, power")
    p.add_argument("name")
    p.add_argument("--outcome", default="outcome",
                   help="what the logged outcomes are called (e.g. converted), or a column of the prediction log: "
                        "prediction, proba, latency_ms, feature.<column>")
    p.add_argument("--control", help="the arm the others are compared with (default: the heaviest live arm)")
    p.add_argument("--start", help="only predictions at or after this time (e.g. 2026-11-01)")
    p.add_argument("--end", help="only predictions before this time")
    p.add_argument("--routing", type=int, help="only predictions served under this routing number (deploy history)")
    add_json_flag(p)

    p = add_verb(verbs, "export", lambda a, c: _models().export_mlflow(a.mlflow, names=a.name, experiment=a.experiment),
                 "write model versions with their files and aliases to an MLflow server")
    p.add_argument("--mlflow", metavar="URI", required=True, help="an MLflow tracking server, e.g. http://127.0.0.1:5000")
    p.add_argument("--name", action="append", help="only this model (repeatable)")
    p.add_argument("--experiment", help="the MLflow experiment holding the files' runs (default: PROJECT-models)")
    add_json_flag(p)

    p = add_verb(verbs, "import", lambda a, c: _models().import_mlflow(a.mlflow, names=a.name),
                 "add the registered model versions of an MLflow server, with their files and aliases")
    p.add_argument("--mlflow", metavar="URI", required=True, help="an MLflow tracking server, e.g. http://127.0.0.1:5000")
    p.add_argument("--name", action="append", help="only this registered model (repeatable)")
    add_json_flag(p)


def _git_tag_flag(parser: Any) -> None:
    parser.add_argument("--git-tag", action="store_true",
                        help="also write the git tags DVC's GTO reads (NAME@vN.0.0, NAME#ALIAS#N)")


def _alias(args: Any, ctx: Any) -> Any:
    if args.remove:
        return _models().remove_alias(args.ref, args.alias, reason=args.reason, git_tag=args.git_tag)
    return _models().set_alias(args.ref, args.alias, reason=args.reason, git_tag=args.git_tag)


def _path(args: Any, ctx: Any) -> Any:
    from .._display import Record

    models = _models()
    version = models.resolve(args.ref)
    return Record({"ref": version.ref, "format": version.format, "path": str(models.path(version.ref))},
                  title=f"{version.ref}: {version.format}")
