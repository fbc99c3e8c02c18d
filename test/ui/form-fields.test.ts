import { describe, expect, it } from 'vitest';
import { fieldFor } from '../../src/ui/page/form-fields.js';

const fields = ['name', 'dataset', 'dataset.trainImages', 'network', 'options', 'options.maxEpochs', 'options.solver'];

describe('fieldFor: which form field a problem path belongs to', () => {
  it('sends a problem to the field with the longest path that contains it', () => {
    expect(fieldFor('network.layers[3].numChannels', fields)).toBe('network');
    expect(fieldFor('options.maxEpochs', fields)).toBe('options.maxEpochs');
    expect(fieldFor('options.momentum', fields)).toBe('options');
    expect(fieldFor('dataset.id', fields)).toBe('dataset');
    expect(fieldFor('dataset.trainImages', fields)).toBe('dataset.trainImages');
  });

  it("reads Fastify's body. prefix, and does not take a field for a longer name that shares its start", () => {
    expect(fieldFor('body.name', fields)).toBe('name');
    expect(fieldFor('options.maxEpochsX', fields)).toBe('options');
    expect(fieldFor('networks', fields)).toBeNull();
  });

  it('leaves problems of the whole body to the summary', () => {
    expect(fieldFor('body', fields)).toBeNull();
    expect(fieldFor('', fields)).toBeNull();
    expect(fieldFor('body.extra', fields)).toBeNull();
  });
});
