// The API's messages as the dashboard reads them (proto3 JSON: lowerCamelCase names, int64 as
// strings, default values omitted). Only the fields the pages use; proto/assay/v1 has them all.
export type Int64 = string | number;

export interface WhoAmI {
  team: string;
  role?: string;
  keyPrefix?: string;
}

export interface Benchmark {
  id: string;
  name: string;
  description?: string;
  createdAt?: Int64;
  numModels?: Int64;
  numItems?: Int64;
  numCells?: Int64;
  currentFitId?: string;
}

export interface Fit {
  id: string;
  benchmarkId: string;
  version?: Int64;
  state?: string;
  error?: string;
  createdAt?: Int64;
  iteration?: number;
  loss?: number;
  converged?: boolean;
  stopReason?: string;
  seconds?: number;
  numModels?: Int64;
  numItems?: Int64;
  numCells?: Int64;
  current?: boolean;
  method?: string;
  methodReason?: string;
}

export interface Ability {
  model: string;
  theta?: number[];
  se?: number[];
  rank?: number;
  accuracy?: number;
  predictedAccuracy?: number;
  numItems?: Int64;
  flags?: string;
}

export interface ItemParams {
  item: string;
  a?: number[];
  b?: number;
  difficulty?: number;
  seA?: number[];
  seB?: number;
  pCorrect?: number;
  numModels?: Int64;
  infit?: number;
  outfit?: number;
  flags?: string;
  tags?: string[];
}

export interface CatSession {
  id: string;
  benchmarkId: string;
  fitId?: string;
  model?: string;
  options?: { alpha?: number; anytimeValid?: boolean; maxItems?: number };
  theta?: number;
  se?: number;
  answered?: Int64;
  predictedAccuracy?: number;
  lower?: number;
  upper?: number;
  csLower?: number;
  csUpper?: number;
  finished?: boolean;
  stopReason?: string;
  createdAt?: Int64;
  steps?: Int64;
}

export interface SessionStep {
  answered?: Int64;
  item?: string;
  successes?: number;
  trials?: number;
  theta?: number;
  se?: number;
  predictedAccuracy?: number;
  lower?: number;
  upper?: number;
  csLower?: number;
  csUpper?: number;
}

export interface AuditConfig {
  tau?: number;
  alpha?: number;
  budget?: number;
  method?: string;
  maxSamples?: number;
}

export interface Subgroup {
  name: string;
  tested?: Int64;
  eValue?: number;
  accuracyLower?: number;
  accuracyUpper?: number;
  failing?: boolean;
}

export interface Audit {
  id: string;
  displayName?: string;
  config?: AuditConfig;
  createdAt?: Int64;
  revision?: Int64;
  handedOut?: Int64;
  labelled?: Int64;
  tested?: Int64;
  outstanding?: Int64;
  eModel?: number;
  eAuditor?: number;
  accuracyLower?: number;
  accuracyUpper?: number;
  decision?: string;
  decisionTime?: Int64;
  subgroups?: Subgroup[];
}

export interface AuditStep {
  t?: Int64;
  caseId?: string;
  y?: number;
  eModel?: number;
  eAuditor?: number;
  accuracyLower?: number;
  accuracyUpper?: number;
  decision?: string;
}

export interface AuditUpdate {
  audit: Audit;
  steps?: AuditStep[];
}

export interface Monitor {
  id: string;
  displayName?: string;
  config?: { tau?: number; alpha?: number; cusum?: boolean };
  createdAt?: Int64;
  t?: Int64;
  alarms?: Int64;
  lastAlarmT?: Int64;
  eValue?: number;
  recentAccuracy?: number;
}

export interface MonitorUpdate {
  monitor: Monitor;
  alarmTs?: Int64[];
}

export interface CompareStep {
  item?: string;
  yA?: number;
  yB?: number;
  estimate?: number;
  lower?: number;
  upper?: number;
}

export interface Comparison {
  id: string;
  benchmarkId: string;
  fitId?: string;
  modelA?: string;
  modelB?: string;
  options?: { delta?: number; alpha?: number; maxItems?: number; design?: string; baselineKnown?: boolean };
  items?: Int64;
  benchmarkItems?: Int64;
  estimate?: number;
  lower?: number;
  upper?: number;
  decision?: string;
  finished?: boolean;
  exact?: boolean;
  steps?: CompareStep[];
  createdAt?: Int64;
  revision?: Int64;
}
