import { describe, expect, it } from 'vitest';
import { memoryMbOfQuantity, openFaasScaleLimits } from './openfaas-rules.js';

describe('OpenFaaS deployment conventions', () => {
  it('maps memory quantities and the scale labels onto our limits', () => {
    expect(memoryMbOfQuantity('128Mi')).toBe(128);
    expect(memoryMbOfQuantity('1Gi')).toBe(1024);
    expect(memoryMbOfQuantity('100M')).toBe(96);
    expect(() => memoryMbOfQuantity('lots')).toThrow(/quantity/);
    expect(openFaasScaleLimits({ 'com.openfaas.scale.min': '2', 'com.openfaas.scale.max': '5' })).toEqual({ reservedConcurrency: 2, maxConcurrency: 5 });
    expect(openFaasScaleLimits({ 'com.openfaas.scale.min': '2', 'com.openfaas.scale.zero': 'true', 'com.openfaas.scale.zero-duration': '15m' })).toEqual({ reservedConcurrency: 0, idleTimeoutSeconds: 900 });
    expect(openFaasScaleLimits({ 'com.openfaas.scale.zero': 'false' })).toEqual({ reservedConcurrency: 1 });
    expect(openFaasScaleLimits({})).toEqual({});
    expect(() => openFaasScaleLimits({ 'com.openfaas.scale.max': 'many' })).toThrow(/whole number/);
  });

});
