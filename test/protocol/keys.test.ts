import { describe, expect, it } from 'vitest';
import { GRADIENT_QUEUE, JOBS_QUEUE, Keys, ProtocolError, parseTaskId, taskId, validateJobId } from '@redgrad/protocol';

// Redis Cluster key slot: CRC16-XMODEM of the hash tag (or whole key) mod 16384.
function crc16(buf: Buffer): number {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
function slot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(Buffer.from(key.slice(open + 1, close))) % 16384;
  }
  return crc16(Buffer.from(key)) % 16384;
}

describe('key layout', () => {
  it('matches the Redis Cluster slot reference values', () => {
    // Values from the Redis Cluster spec / CLUSTER KEYSLOT.
    expect(slot('foo')).toBe(12182);
    expect(slot('{user1000}.following')).toBe(slot('{user1000}.followers'));
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });

  it('puts every key of a job in one slot, under one hash tag', () => {
    const k = new Keys();
    const job = 'job-42';
    const all = [
      k.jobSpec(job),
      k.jobState(job),
      k.weights(job, 0),
      k.weights(job, 123456),
      k.results(job, 7),
      k.checkpoint(job),
      k.model(job),
      k.metrics(job),
      k.cancel(job),
    ];
    expect(new Set(all).size).toBe(all.length);
    for (const key of all) {
      expect(key.startsWith('redgrad:job:{job-42}:')).toBe(true);
      expect(key.match(/\{/g)).toHaveLength(1);
      expect(slot(key)).toBe(slot('{job-42}'));
    }
    expect(k.weights(job, 5)).toBe('redgrad:job:{job-42}:w:5');
    expect(k.results(job, 5)).toBe('redgrad:job:{job-42}:results:5');
    expect(slot(k.jobSpec('other'))).not.toBe(slot(k.jobSpec(job)));
  });

  it('puts every key of a data set in one slot', () => {
    const k = new Keys('t1');
    const h = 'ab'.repeat(32);
    expect(k.dataMeta(h)).toBe(`t1:data:{${h}}:meta`);
    expect(k.dataX(h, 3)).toBe(`t1:data:{${h}}:x:3`);
    expect(k.dataY(h, 3)).toBe(`t1:data:{${h}}:y:3`);
    expect(slot(k.dataX(h, 0))).toBe(slot(k.dataMeta(h)));
    expect(slot(k.dataY(h, 99))).toBe(slot(k.dataMeta(h)));
  });

  it('names queues and a hash-tagged BullMQ prefix', () => {
    expect(GRADIENT_QUEUE).toBe('gradients');
    expect(JOBS_QUEUE).toBe('jobs');
    expect(new Keys().queuePrefix).toBe('{redgrad}');
    expect(new Keys('t-x-1').queuePrefix).toBe('{t-x-1}');
    expect(new Keys().workers()).toBe('redgrad:workers');
    expect(new Keys().worker('w-1@host')).toBe('redgrad:worker:w-1@host');
  });

  it('rejects prefixes with spaces or braces', () => {
    for (const bad of ['', 'a b', '{x}', 'a{', 'x}']) {
      expect(() => new Keys(bad)).toThrow(ProtocolError);
    }
  });

  it('validates job ids like BullMQ custom ids', () => {
    expect(validateJobId('A_b-9')).toBe('A_b-9');
    for (const bad of ['', 'a:b', 'a b', 'x'.repeat(65), '{a}', 'a/b']) {
      expect(() => validateJobId(bad)).toThrow(/job id/);
    }
    expect(() => new Keys().weights('a:b', 1)).toThrow(ProtocolError);
  });

  it('rejects negative or fractional steps and shards', () => {
    const k = new Keys();
    expect(() => k.weights('j', -1)).toThrow(/step -1/);
    expect(() => k.results('j', 1.5)).toThrow(/step 1.5/);
    expect(() => k.weights('j', -2)).toThrow(/step -2/);
  });

  it('derives deterministic task ids and parses them back', () => {
    const block = { level: 1, index: 3 };
    expect(taskId('job_1', 17, block)).toBe('job_1_17_1_3');
    expect(taskId('job_1', 17, block)).not.toContain(':');
    expect(parseTaskId('job_1_17_1_3')).toEqual({ jobId: 'job_1', step: 17, level: 1, index: 3, attempt: 0 });
    expect(taskId('job_1', 17, block, 2)).toBe('job_1_17_1_3-r2');
    expect(parseTaskId('job_1_17_1_3-r2')).toEqual({ jobId: 'job_1', step: 17, level: 1, index: 3, attempt: 2 });
    expect(() => parseTaskId('job-1')).toThrow(/task id/);
    expect(() => taskId('bad:id', 0, block)).toThrow(/job id/);
    expect(() => taskId('job', 0, { level: -1, index: 0 })).toThrow(/level -1/);
  });
});
