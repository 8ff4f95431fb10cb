"""Serving registered models: routings (which versions answer, with what share), ``mlnb serve``,
and manifests for KServe, Seldon Core 2 and BentoML."""
