"""hierlearn.core beyond chapter 00_core: result files' permissions under several umasks, and its hostile inputs as one table."""
import os, stat, warnings
import numpy as np, pandas as pd
import pytest
from hierlearn.core import (UnknownNameError, check_choice, check_unique_columns, read_json_cache, save_outputs, summarise,
                            write_atomic, write_json_atomic)


@pytest.mark.parametrize('umask, mode', [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
@pytest.mark.parametrize('writer', ['write_atomic', 'write_json_atomic', 'save_outputs'])
def test_result_files_get_the_permissions_the_umask_gives(tmp_path, umask, mode, writer):
    "Every result file is created as `open` creates one: 0666 less the umask (mkstemp made them all 0600)"
    old = os.umask(umask)
    try:
        if writer == 'write_atomic': path = write_atomic(tmp_path/'a.csv', lambda p: p.write_text('a\n1\n'))
        elif writer == 'write_json_atomic': path = write_json_atomic(tmp_path/'a.json', {'a': 1})
        else: path, = save_outputs(tmp_path, 'x', {'results.csv': pd.DataFrame({'a': [1]})}, verbose=False)
    finally: os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_overwriting_keeps_no_temporary_file(tmp_path):
    for i in range(3): write_json_atomic(tmp_path/'c.json', {'i': i})
    assert [p.name for p in tmp_path.iterdir()] == ['c.json'] and read_json_cache(tmp_path/'c.json') == {'i': 2}


@pytest.mark.parametrize('content', ['{"foo": 1}', '[1, 2]', '3', 'null', '"scores"'])
def test_cache_of_the_wrong_shape_is_named_and_ignored(tmp_path, content):
    path = tmp_path/'fold.json'
    path.write_text(content)
    with pytest.warns(UserWarning, match=r'fold\.json .*another shape'):
        assert read_json_cache(path, valid=lambda o: isinstance(o, dict) and 'scores' in o) is None


TIDY = pd.DataFrame({'model': ['a', 'a'], 'metric': ['f1', 'f1'], 'value': [0.5, 0.7]})

HOSTILE = [  # (call, exception type, regex the message must match)
    (lambda: check_choice('yaest', ['ecoli', 'yeast'], 'dataset'), UnknownNameError, r"Unknown dataset 'yaest'\. Did you mean 'yeast'\?"),
    (lambda: check_choice(None, ['ecoli'], 'dataset'), KeyError, r"Unknown dataset None\. Valid choices: 'ecoli'"),
    (lambda: check_unique_columns(pd.DataFrame([[1, 2, 3]], columns=['a', 'b', 'a'])), ValueError, r"duplicated column names: \['a'\]"),
    (lambda: check_unique_columns(pd.DataFrame([[1, 2]], columns=np.array([0, 0]))), ValueError, r"duplicated column names: \[0\]"),
    (lambda: summarise(TIDY.drop(columns='value'), ['model']), ValueError, r"results lack the columns \['value'\]"),
    (lambda: save_outputs('/tmp', 'x', {'a': [1, 2]}, verbose=False), TypeError, r"cannot save 'a': a DataFrame or a matplotlib Figure, got list"),
]


@pytest.mark.parametrize('call, exc, message', HOSTILE)
def test_hostile_input(call, exc, message):
    with pytest.raises(exc, match=message): call()
