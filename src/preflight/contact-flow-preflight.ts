import type { ConfigFinding } from '../config/config-finding.js';
import type { ResolvedFlowsConfig } from '../config/resolved-config.js';
import { formatHint } from '../config/did-you-mean.js';
import { changeTrackingMessage } from '../core/ports/metadata.js';
import type { MetadataSource } from '../core/ports/metadata.js';
import {
  attributeOf,
  campaignTypeOf,
  checkMappedColumns,
  checkMappedFields,
  collectFindings,
} from './mapping-preflight.js';

/** The parts of the configuration the contact pre-flight reads. */
export type ContactPreflightConfig = Pick<ResolvedFlowsConfig, 'contacts' | 'optOut'>;

/** Dynamics attribute types an opt-out column may have (a yes/no column). */
const optOutColumnTypes: readonly string[] = ['Boolean'];

/**
 * Check the contact flow (F1) and the opt-out mapping (F4) against both tenants: the contact table
 * exists with change tracking on; mapped and filtered columns exist; the profile has the mapped
 * fields, writable and of a compatible type; each opt-out column exists and is a Boolean (yes/no)
 * column, and each opt-out attribute exists on the profile as a boolean. Findings name the column
 * or field and say how to fix it.
 */
export async function checkContactFlow(
  flows: ContactPreflightConfig,
  source: MetadataSource,
): Promise<ConfigFinding[]> {
  const { findings, report } = collectFindings();
  const { contacts, optOut } = flows;
  const optOutOn = optOut.mode !== 'disabled' && Object.keys(optOut.mapping).length > 0;
  if (!contacts.enabled && !optOutOn) return findings;
  const [dynamics, profile] = await Promise.all([
    source.sourceTable(contacts.table),
    source.targetResource('profile'),
  ]);
  const owner = `contacts (${contacts.table} → profile)`;
  const flow = {
    owner,
    table: contacts.table,
    resource: 'profile',
    mapping: contacts.mapping,
    picklist: contacts.picklist,
    filterColumns: (contacts.filter ? (contacts.filter.all ?? contacts.filter.any ?? []) : []).map(
      (condition) => condition.field,
    ),
    mappingPath: (column: string) => ['flows', 'contacts', 'mapping', column],
    filterPath: ['flows', 'contacts', 'filter'],
  };
  if (!dynamics) {
    report(
      'error',
      'PREFLIGHT_TABLE_MISSING',
      ['flows', 'contacts', 'table'],
      `${owner}: Dynamics table ${contacts.table} does not exist in the environment; check the logical name`,
    );
  } else {
    if (contacts.enabled) {
      if (!dynamics.changeTrackingEnabled)
        report(
          'error',
          'PREFLIGHT_CHANGE_TRACKING',
          ['flows', 'contacts', 'table'],
          changeTrackingMessage(contacts.table),
        );
      checkMappedColumns(flow, dynamics, report);
    }
    if (optOutOn) {
      const names = dynamics.attributes.map((a) => a.logicalName);
      for (const column of Object.keys(optOut.mapping)) {
        const path = ['flows', 'optOut', 'mapping', column];
        const attribute = attributeOf(dynamics, column);
        if (!attribute)
          report(
            'error',
            'PREFLIGHT_COLUMN_MISSING',
            path,
            `opt-outs: column ${column} does not exist on Dynamics table ${contacts.table}${formatHint(column, names)}`,
          );
        else if (!optOutColumnTypes.includes(attribute.type))
          report(
            'error',
            'PREFLIGHT_OPTOUT_COLUMN_TYPE',
            path,
            `opt-outs: column ${column} of Dynamics table ${contacts.table} is ${attribute.type}; an opt-out column must be a Boolean (yes/no) column such as donotbulkemail`,
          );
      }
    }
  }
  if (!profile) {
    report(
      'error',
      'PREFLIGHT_RESOURCE_MISSING',
      ['campaign', 'profileResource'],
      `${owner}: Campaign's profile resource does not answer its metadata; check campaign.url and campaign.profileResource`,
    );
    return findings;
  }
  if (contacts.enabled) checkMappedFields(flow, dynamics, profile, report);
  if (optOutOn) {
    const fieldNames = Object.keys(profile.fields);
    for (const [column, attribute] of Object.entries(optOut.mapping)) {
      const path = ['flows', 'optOut', 'mapping', column];
      const field = profile.fields[attribute];
      if (!field)
        report(
          'error',
          'PREFLIGHT_FIELD_MISSING',
          path,
          `opt-outs: Campaign attribute ${attribute} (for column ${column}) does not exist on the profile${formatHint(attribute, fieldNames)}`,
        );
      else if (campaignTypeOf(field) !== 'boolean')
        report(
          'error',
          'PREFLIGHT_TYPE_MISMATCH',
          path,
          `opt-outs: Campaign attribute ${attribute} is ${campaignTypeOf(field)}; an opt-out attribute must be a boolean`,
        );
    }
  }
  return findings;
}
