import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { intVar } from '../src/index';

const schema = z.object({ PORT: intVar('PORT', 8081, 0, 65_535) });

describe('intVar', () => {
  it('gives the default when unset or blank, and the number otherwise', () => {
    expect(schema.parse({}).PORT).toBe(8081);
    expect(schema.parse({ PORT: '  ' }).PORT).toBe(8081);
    expect(schema.parse({ PORT: '0' }).PORT).toBe(0);
    expect(schema.parse({ PORT: '65535' }).PORT).toBe(65_535);
  });

  it.each(['eighty', '80.5', '-1', '65536', '1e9'])('refuses %j naming the variable, the range and the value', (value) => {
    const result = schema.safeParse({ PORT: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(`PORT must be an integer between 0 and 65535, got ${JSON.stringify(value)}`);
  });
});
