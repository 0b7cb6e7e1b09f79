"""The GX runtime's memoized expectation configurations: one build per expectation inside the block, GX's own
property back afterwards, and the same validation result either way."""

import pandas as pd

from kotacerdas.quality import gx_runtime


def _expectation():
    gx = gx_runtime.import_gx()
    return gx.expectations.ExpectColumnValuesToBeInSet(column="channel", value_set=["online", "offline"])


def test_configuration_is_built_once_inside_the_block_and_fresh_outside():
    expectation = _expectation()
    assert expectation.configuration is not expectation.configuration  # GX builds it on every access
    with gx_runtime.lock(), gx_runtime.memoized_configurations():
        inside = expectation.configuration
        assert expectation.configuration is inside
        assert inside == _expectation().configuration
    assert expectation.configuration is not inside


def test_validation_results_are_the_same_with_and_without_memoized_configurations():
    gx = gx_runtime.import_gx()
    frame = pd.DataFrame({"channel": ["online", "loket", "offline", None, "loket"]})

    def validate():
        batch = gx_runtime.batch_definition("memo_test").get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name="memo", expectations=[_expectation()])
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"}).results[0]
        return result.success, result.result["unexpected_index_list"], result.result["unexpected_count"]

    with gx_runtime.lock():
        plain = validate()
        with gx_runtime.memoized_configurations():
            memoized = validate()
    assert plain == memoized == (False, [1, 4], 2)
