import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSettings } from '../../services/config/environment';
import { fetchMovieLens } from '../../services/data/fetch';
import { DatasetError, loadMovieLens, readMovieLens } from '../../services/data/movielens';

test('data fetch + loader: exactly 100,000 interactions, 943 users, 1,682 items', async () => {
  const dir = await fetchMovieLens(readSettings().cacheDir);
  const data = await loadMovieLens(dir);
  assert.equal(data.ratings.length, 100_000);
  assert.equal(data.users.length, 943);
  assert.equal(data.items.length, 1_682);
  const unknownTitle = data.items.find((i) => i.item === '1412');
  assert.equal(unknownTitle?.year, 1995, 'the year swallowed by the title is recovered');
});

test('malformed rows are reported with file and line, never dropped silently', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-ml-'));
  await writeFile(
    join(dir, 'ml-100k.inter'),
    [
      'user_id:token\titem_id:token\trating:float\ttimestamp:float',
      '1\t1\t5\t881250949',
      '1\t2\t9\t881250949', // rating out of range
      'x\t1\t3\t881250949', // bad user id
      '1\t1\t3', // missing field
      '2\t99\t4\t881250949', // unknown item
      '1\t2\t4\tsoon', // bad timestamp
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'ml-100k.item'),
    [
      'item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq',
      '1\tToy Story\t1995\tAnimation',
      '2\t\t1995\tDrama',
      '1\tDup\t1990\tDrama',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'ml-100k.user'),
    [
      'user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token',
      '1\t24\tM\ttechnician\t85711',
      '2\t200\tQ\tother\t94043',
      '',
    ].join('\n'),
  );
  const load = await readMovieLens(dir);
  const found = load.errors.map((e) => `${e.file.split('/').pop()}:${e.line}`);
  assert.deepEqual(found.sort(), [
    'ml-100k.inter:3',
    'ml-100k.inter:4',
    'ml-100k.inter:5',
    'ml-100k.inter:6',
    'ml-100k.inter:7',
    'ml-100k.item:3',
    'ml-100k.item:4',
    'ml-100k.user:3',
  ]);
  const reasons = Object.fromEntries(
    load.errors.map((e) => [`${e.file.split('/').pop()}:${e.line}`, e.reason]),
  );
  assert.match(reasons['ml-100k.inter:3'], /rating must be within 1\.\.5/);
  assert.match(reasons['ml-100k.inter:5'], /expected 4 tab-separated fields, got 3/);
  assert.match(reasons['ml-100k.inter:6'], /unknown item 99/);
  assert.match(reasons['ml-100k.item:4'], /duplicate id 1 \(first on line 2\)/);
  assert.equal(load.ratings.length, 1, 'only the valid row remains');
  await assert.rejects(loadMovieLens(dir), (error: unknown) => {
    assert.ok(error instanceof DatasetError);
    assert.match(error.message, /8 invalid row\(s\)/);
    assert.match(error.message, /ml-100k\.inter:3: /);
    return true;
  });
});
