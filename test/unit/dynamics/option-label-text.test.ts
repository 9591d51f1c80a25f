import { describe, expect, it } from 'vitest';
import { labelText } from '../../../src/connectors/dynamics/dynamics-metadata-reader.js';

describe('the label of a choice option', () => {
  const german = { Label: 'E-Mail', LanguageCode: 1031 };
  const english = { Label: 'Email', LanguageCode: 1033 };

  it("is the user's label when Dataverse sends one", () => {
    expect(labelText({ UserLocalizedLabel: english, LocalizedLabels: [german, english] })).toBe('Email');
  });

  it('falls back to the first localized label when the user label is missing or null', () => {
    expect(labelText({ LocalizedLabels: [german, english] })).toBe('E-Mail');
    expect(labelText({ UserLocalizedLabel: null, LocalizedLabels: [german] })).toBe('E-Mail');
  });

  it('is undefined when the option has no label at all (the raw value is written)', () => {
    expect(labelText({ UserLocalizedLabel: null, LocalizedLabels: [] })).toBeUndefined();
    expect(labelText(undefined)).toBeUndefined();
  });
});
