"""Offence classification: ICCS v1.0 and national-code crosswalks (pure core, Arrow only).

Modules
-------
iccs
    The 320 ICCS v1.0 categories and the disaggregating variables (:func:`iccs.load_iccs`,
    :func:`iccs.load_disaggregations`), with vectorized ICCS paths.
condition
    The ``condition`` / ``sets`` mini-languages of crosswalk rows (AST, Arrow masks, SQL).
crosswalk, validation
    Reading crosswalk CSV/XLSX files and validating them (:func:`validation.validate_file`).
classify
    One vectorized classification call per crosswalk version (:func:`classify.classify`).
coverage
    Coverage per source and period at each ICCS level (:func:`coverage.coverage`).
assistant
    Ranked ICCS suggestions for national labels (:class:`assistant.Assistant`).
"""
