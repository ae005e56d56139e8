import { Linear } from '@peftjs/nn';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AdapterMethod,
  getAdapterMethod,
  getAdapterMethodByPeftType,
  listAdapterMethods,
  PeftError,
  registerAdapter,
  unregisterAdapter,
} from '../src/index.js';
import { shiftMethod } from './toy.js';

afterEach(() => {
  for (const n of listAdapterMethods()) unregisterAdapter(n);
});

describe('method registry', () => {
  it('starts empty in a fresh process (no method is bundled with the registry)', () => {
    expect(listAdapterMethods()).toEqual([]);
  });

  it('registers, looks up by name and by peft_type, lists, and unregisters', () => {
    registerAdapter(shiftMethod);
    expect(getAdapterMethod('shift')).toBe(shiftMethod);
    expect(getAdapterMethodByPeftType('SHIFT')).toBe(shiftMethod);
    expect(listAdapterMethods()).toEqual(['shift']);

    const other: AdapterMethod = { ...shiftMethod, name: 'other', peftType: 'OTHER' } as unknown as AdapterMethod;
    registerAdapter(other);
    expect(listAdapterMethods()).toEqual(['shift', 'other']);
    expect(getAdapterMethodByPeftType('OTHER')).toBe(other);

    expect(unregisterAdapter('shift')).toBe(true);
    expect(unregisterAdapter('shift')).toBe(false);
    expect(listAdapterMethods()).toEqual(['other']);
    expect(() => getAdapterMethod('shift')).toThrow(PeftError);
  });

  it('refuses a duplicate name and a duplicate peft_type', () => {
    registerAdapter(shiftMethod);
    expect(() => registerAdapter(shiftMethod)).toThrow(/a method named 'shift' is already registered/);
    const samePeftType = { ...shiftMethod, name: 'shift-two' } as unknown as AdapterMethod;
    expect(() => registerAdapter(samePeftType)).toThrow(/peft_type 'SHIFT' is already registered by 'shift'/);
    expect(listAdapterMethods()).toEqual(['shift']);
  });

  it('refuses incomplete methods and invalid names', () => {
    const { createLayer: _omit, ...noCreate } = shiftMethod;
    expect(() => registerAdapter(noCreate as unknown as AdapterMethod)).toThrow(/lacks 'createLayer'/);
    const { peftType: _p, ...noType } = shiftMethod;
    expect(() => registerAdapter(noType as unknown as AdapterMethod)).toThrow(/lacks 'peftType'/);
    for (const bad of ['Shift', '1shift', 'shi ft', '']) {
      expect(() => registerAdapter({ ...shiftMethod, name: bad } as unknown as AdapterMethod)).toThrow(
        /invalid method name/,
      );
    }
    expect(listAdapterMethods()).toEqual([]);
  });

  it('explains unknown names and peft types, listing what is registered', () => {
    expect(() => getAdapterMethod('lora')).toThrow(/no adapter method 'lora' is registered \(registered: none\)/);
    registerAdapter(shiftMethod);
    expect(() => getAdapterMethod('lora')).toThrow(/registered: shift\).*@peftjs\/lora/);
    expect(() => getAdapterMethodByPeftType('LORA')).toThrow(PeftError);
    expect(() => getAdapterMethodByPeftType('LORA')).toThrow(
      /no registered method handles peft_type 'LORA' \(registered: SHIFT\)/,
    );
  });

  it('is shared through globalThis, so two copies of the package see one registry', () => {
    registerAdapter(shiftMethod);
    const map = (globalThis as unknown as Record<symbol, Map<string, unknown>>)[Symbol.for('@peftjs/registry/methods')];
    expect(map.get('shift')).toBe(shiftMethod);
  });

  it('a registered method reports what it can adapt', () => {
    registerAdapter(shiftMethod);
    const m = getAdapterMethod('shift');
    expect(m.canAdapt(new Linear(2, 2))).toBe(true);
    expect(m.supportedModules).toEqual(['Linear']);
  });
});
