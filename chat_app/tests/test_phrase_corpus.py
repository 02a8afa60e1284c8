"""The phrase corpus (chat_app/tests/phrases/corpus.yaml) read by the offline grammar, line by line.

Every line is a test of its own (a known failure is an xfail with its reason, strict: a line
that starts passing must lose its mark), and one more test reports the pass rate — printed in
the terminal summary of any run that includes it — and fails below the required rate.
"""

import pytest

from chat_app.offline import corpus

from .conftest import CORPUS_SUMMARY

CASES = corpus.load()


def _param(case: corpus.Case):
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=f"L{case.line}", marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_corpus_line_reads_as_expected(case):
    outcome = corpus.check(case)
    assert outcome.passed, f"{case.label}\nexpected {case.kind}: {case.expected!r}\ngot {outcome.got!r}"


def test_corpus_pass_rate_is_reported_and_meets_the_required_rate(request):
    report = corpus.run(CASES)
    request.config.stash[CORPUS_SUMMARY] = report.summary()
    print(report.summary())
    assert len(report.outcomes) >= 300, "the corpus is meant to hold a few hundred lines"
    assert not report.failed, "lines that read wrongly: " + "; ".join(o.case.label for o in report.failed)
    assert not report.fixed, "xfail lines now pass, take the mark off: " + "; ".join(o.case.label for o in report.fixed)
    assert report.pass_rate >= corpus.REQUIRED_PASS_RATE
