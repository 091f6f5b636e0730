"""The runner of chapter 04a (`hierlearn.experiments.generative`), without training: the comparison's results are faked."""
from pathlib import Path
import numpy as np, pandas as pd
import pytest
import hierlearn.experiments.samplers as samplers_module   # where the comparison skeleton looks `compare` up
from hierlearn.experiments.generative import run_generative

def test_run_generative_writes_results_atomically(tmp_path, monkeypatch):
    "A results file whose write dies half-way keeps its previous content, and no temporary file is left behind"
    rng = np.random.default_rng(0)
    fake = pd.DataFrame([dict(dataset=f'keel/d{d}', sampler=s, model='decision tree', metric=m, fold=f, value=rng.random(),
                              status='ok', error='', fit_seconds=0.1)
                         for d in range(4) for s in ('none', 'SMOTE', 'GAN') for m in ('g_mean', 'f1', 'roc_auc') for f in range(3)])
    monkeypatch.setattr(samplers_module, 'compare', lambda *a, **k: fake)  # the grid's results, without training anything
    run_generative(tmp_path, quick=True, n_jobs=1, peers=False)
    written = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(written) == ['generative_cd.png', 'generative_ranks_f1.csv', 'generative_ranks_g_mean.csv',
                               'generative_ranks_roc_auc.csv', 'generative_results.csv.gz', 'generative_summary.csv']
    import matplotlib.pyplot as plt
    assert plt.imread(tmp_path/'generative_cd.png').shape[1] <= 6.5 * 120   # the CD diagrams fit the text column (saved at 120 dpi)
    to_csv = pd.DataFrame.to_csv
    def dies_half_way(self, path=None, *args, **kwargs):
        if Path(str(path)).name.startswith(('generative_summary', '.generative_summary')):
            Path(path).write_text('dataset,sam'); raise OSError('disk full')
        return to_csv(self, path, *args, **kwargs)
    monkeypatch.setattr(pd.DataFrame, 'to_csv', dies_half_way)
    with pytest.raises(OSError, match='disk full'): run_generative(tmp_path, quick=True, n_jobs=1, peers=False)
    assert (tmp_path/'generative_summary.csv').read_bytes() == written['generative_summary.csv']
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)  # no temporary file left


def test_run_generative_sets_the_leaders_beside_smote_and_the_gan(tmp_path, monkeypatch):
    "With smote-variants' leaders, a peers table: each one's mean rank and scores beside SMOTE's, the GAN's and the study's figures"
    pytest.importorskip('smote_variants')
    rng = np.random.default_rng(0)
    fake = pd.DataFrame([dict(dataset=f'keel/d{d}', sampler=s, model='decision tree', metric=m, fold=f, value=rng.random(),
                              status='ok', error='', fit_seconds=0.1)
                         for d in range(4) for s in ('none', 'SMOTE', 'GAN', 'polynom-fit-SMOTE') for m in ('g_mean', 'f1', 'roc_auc') for f in range(3)])
    monkeypatch.setattr(samplers_module, 'compare', lambda *a, **k: fake)
    run_generative(tmp_path, quick=True, n_jobs=1, peers=True)
    peers = pd.read_csv(tmp_path/'generative_peers.csv', index_col='sampler')
    assert peers.index.tolist() == ['SMOTE', 'GAN', 'polynom-fit-SMOTE']
    assert peers.loc['polynom-fit-SMOTE', 'Kovács rank'] == 2.5 and np.isnan(peers.loc['GAN', 'Kovács rank'])
    assert peers['rank g_mean'].between(1, 4).all()
