'use strict'
/*
 * End-to-end test of GET/POST /api/v1/sync with the real WatermelonDB library.
 *
 * Each simulated field device is a WatermelonDB Database on a LokiJSAdapter kept in memory
 * (NODE_ENV=test, no web worker, no IndexedDB: under Node, WatermelonDB falls back to LokiJS's
 * memory adapter). Devices change their local database the way an app does (collection.create,
 * record.update, record.markAsDeleted) and call WatermelonDB's own synchronize() with
 * pullChanges/pushChanges that talk to the server over HTTP.
 *
 * Scenarios (run in this order, on one server database that starts with the seed data of
 * tests/sync/test_watermelon_e2e.py):
 *   a. two devices of one village create, edit and delete offline, then converge;
 *   b. both edit the same worker: the later push gets 409 sync_conflict, synchronize() again
 *      pulls, merges (local columns win), pushes; both end equal;
 *   c. a push whose response is lost: re-sent as is, then synchronize() again; one record;
 *   d. the officer of a device is moved to another village: its next sync (after logging in
 *      again) removes the old village's records and brings the new village's;
 *   e. a record deleted on the device right after the sync that pushed it stays deleted.
 * WatermelonDB's own "[Sync]" diagnostics (it logs one when the server's changes contradict the
 * local database) fail the run too.
 *
 * Run: NODE_ENV=test node sync_e2e.js   (inputs from the environment, see CONFIG below)
 * Success: exit 0 and one JSON summary line on stdout. Failure: exit 1 and a message on stderr.
 * The script expects a fresh database holding only the seed data (the pytest test gives it one).
 */

if (process.env.NODE_ENV !== 'test') {
  // WatermelonDB picks its LokiJS in-memory setup (no web worker) from NODE_ENV=test.
  console.error('Run with NODE_ENV=test (WatermelonDB test mode: LokiJS in memory).')
  process.exit(2)
}

const { Database, Model, Q, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize, hasUnsyncedChanges } = require('@nozbe/watermelondb/sync')
const { field } = require('@nozbe/watermelondb/decorators')

// --- inputs ------------------------------------------------------------------------------------

function env(name, fallback) {
  const value = process.env[name] ?? fallback
  if (value === undefined || value === '') {
    console.error(`Missing environment variable ${name}`)
    process.exit(2)
  }
  return value
}

const CONFIG = {
  baseUrl: env('E2E_BASE_URL').replace(/\/$/, ''),
  password: env('E2E_PASSWORD'), // the officers' password
  officerA: env('E2E_OFFICER_A'), // device A (village VILLAGE)
  officerB: env('E2E_OFFICER_B'), // device B (village VILLAGE)
  movedOfficer: env('E2E_MOVED_OFFICER'), // device C (VILLAGE, then moved to NEW_VILLAGE)
  admin: env('E2E_ADMIN'),
  adminPassword: env('E2E_ADMIN_PASSWORD'),
  village: env('E2E_VILLAGE'), // e.g. 17.04.01.2001
  newVillage: env('E2E_NEW_VILLAGE'), // e.g. 17.04.01.2002
  appVersion: 'e2e-1.0',
  requestTimeoutMs: 30000,
}

// --- the local schema: WatermelonDB tables mirroring the flat sync records ----------------------

const SCHEMA_VERSION = 1

// Every column optional (the server may send nulls) except created_at/updated_at, which
// WatermelonDB itself requires to be non-optional numbers.
const WORKER_COLUMNS = {
  village: 'string',
  nik: 'string',
  kk_number: 'string',
  full_name: 'string',
  birth_date: 'string',
  birth_place: 'string',
  sex: 'string',
  phone: 'string',
  address_street: 'string',
  address_dusun: 'string',
  address_rt: 'string',
  address_rw: 'string',
  occupation: 'string',
  kusuka_number: 'string',
  monthly_income: 'number',
  mother_maiden_name: 'string',
  heirs: 'string', // JSON
  consent_given_at: 'string',
  consent_method: 'string',
  consent_recorded_by: 'string',
  warnings: 'string', // JSON
  needs_correction: 'boolean',
  errors: 'string', // JSON
  version: 'number',
  created_at: 'number',
  updated_at: 'number',
}

const ENROLMENT_COLUMNS = {
  worker: 'string',
  village: 'string',
  segment: 'string',
  programs: 'string', // JSON
  funding_source: 'string',
  budget_year: 'number',
  funding_decree: 'string',
  coverage_start: 'string',
  payment_period_months: 'number',
  monthly_contribution: 'number',
  annual_contribution: 'number',
  status: 'string',
  status_reason: 'string',
  registry_number: 'string',
  registry_status: 'string',
  synced_at: 'string',
  warnings: 'string',
  needs_correction: 'boolean',
  errors: 'string',
  version: 'number',
  created_at: 'number',
  updated_at: 'number',
}

const COLUMNS = { workers: WORKER_COLUMNS, enrolments: ENROLMENT_COLUMNS }
const TABLES = Object.keys(COLUMNS)

function columnsOf(columns) {
  return Object.entries(columns).map(([name, type]) => ({
    name,
    type,
    isOptional: !['created_at', 'updated_at'].includes(name),
  }))
}

const schema = appSchema({
  version: SCHEMA_VERSION,
  tables: [
    tableSchema({ name: 'workers', columns: columnsOf(WORKER_COLUMNS) }),
    tableSchema({ name: 'enrolments', columns: columnsOf(ENROLMENT_COLUMNS), indexed: ['worker'] }),
  ],
})

const camel = (column) => column.replace(/_([a-z])/g, (_m, c) => c.toUpperCase())

// Plain CommonJS has no decorator syntax: apply WatermelonDB's @field decorator by hand, giving
// each column a camelCase property (worker.fullName ↔ full_name). created_at/updated_at are left
// out on purpose: with an `updatedAt` property WatermelonDB would stamp the device's clock on every
// local edit, while here both are server-owned and only travel from the server.
function defineFields(ModelClass, columns) {
  for (const column of Object.keys(columns)) {
    if (column === 'created_at' || column === 'updated_at') continue
    const property = camel(column)
    Object.defineProperty(ModelClass.prototype, property, field(column)(ModelClass.prototype, property))
  }
}

class Worker extends Model {
  static table = 'workers'
  static associations = { enrolments: { type: 'has_many', foreignKey: 'worker' } }
}
class Enrolment extends Model {
  static table = 'enrolments'
  static associations = { workers: { type: 'belongs_to', key: 'worker' } }
}
defineFields(Worker, WORKER_COLUMNS)
defineFields(Enrolment, ENROLMENT_COLUMNS)

// --- WatermelonDB's diagnostics -----------------------------------------------------------------

// WatermelonDB reports recoverable sync oddities ("[Sync] Server wants client to create record …
// but it already exists locally") through console.error/warn. Keep them for the summary. All
// console output goes to stderr: stdout carries only the JSON summary.
const diagnostics = []
const toStderr = console.error.bind(console)
for (const level of ['error', 'warn', 'log', 'info', 'debug']) {
  console[level] = (...args) => {
    const text = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')
    if (text.includes('[Sync]')) diagnostics.push(text.slice(0, 300))
    toStderr(text) // messages without WatermelonDB's diagnostic stack traces
  }
}

// --- assertions ------------------------------------------------------------------------------------

class E2EFailure extends Error {}

function check(condition, message) {
  if (!condition) throw new E2EFailure(message)
}

// Stable JSON (sorted keys) for comparisons and messages.
function stable(value) {
  if (Array.isArray(value)) return value.map(stable)
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, stable(value[k])]),
    )
  }
  return value
}

// The paths where two JSON values differ, e.g. ["workers.x1.version: expected 1, actual 2"].
function differences(actual, expected, path = '') {
  const isObject = (v) => v !== null && typeof v === 'object'
  if (isObject(actual) && isObject(expected) && Array.isArray(actual) === Array.isArray(expected)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()
    return keys.flatMap((k) => differences(actual[k], expected[k], path ? `${path}.${k}` : k))
  }
  const [a, e] = [JSON.stringify(stable(actual)), JSON.stringify(stable(expected))]
  return a === e ? [] : [`${path || '(value)'}: expected ${e}, actual ${a}`]
}

// Some columns of a record, in order: pick(row, 'phone', 'version') → [row.phone, row.version].
const pick = (row, ...columns) => columns.map((column) => row[column])

function checkEqual(actual, expected, what) {
  const found = differences(actual, expected)
  check(found.length === 0, `${what}:\n  ${found.slice(0, 12).join('\n  ')}`)
}

// --- HTTP -----------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(method, path, status, body) {
    const code = body && body.error ? body.error.code : undefined
    super(`${method} ${path} → ${status} ${JSON.stringify(body).slice(0, 500)}`)
    this.status = status
    this.code = code
    this.body = body
  }
}

async function http(method, path, { token, body, headers = {}, transport = fetch } = {}) {
  const response = await transport(`${CONFIG.baseUrl}${path}`, {
    method,
    headers: {
      Accept: 'application/json',
      'Accept-Language': 'en',
      'X-App-Version': CONFIG.appVersion,
      ...(token ? { Authorization: `Token ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(CONFIG.requestTimeoutMs),
  })
  const text = await response.text()
  let json = null
  try {
    json = text ? JSON.parse(text) : null
  } catch {
    json = { raw: text.slice(0, 500) }
  }
  return { status: response.status, json }
}

async function login(username, password, deviceId) {
  const { status, json } = await http('POST', '/api/v1/auth/login', {
    body: { username, password, device_id: deviceId, device_name: `WatermelonDB e2e ${deviceId}` },
  })
  check(status === 200, `login of ${username} on ${deviceId}: ${status} ${JSON.stringify(json)}`)
  check(typeof json.token === 'string' && json.token.length > 0, `login of ${username}: no token in ${JSON.stringify(json)}`)
  return json
}

// --- a field device ---------------------------------------------------------------------------------

let deviceCount = 0

class FieldDevice {
  constructor(label, username) {
    this.label = label
    this.username = username
    this.deviceId = `e2e-device-${label}`
    this.token = null
    this.user = null
    this.requests = [] // [method, status] of every sync request, for the summary
    // Test hooks (scenarios b and c): run something just before the next push, or let the next
    // push reach the server and then lose its response.
    this.beforeNextPush = null
    this.loseNextPushResponse = false
    this.lostPush = null
    deviceCount += 1
    const adapter = new LokiJSAdapter({
      schema,
      dbName: `e2e-${label}-${deviceCount}`,
      useWebWorker: false,
      useIncrementalIndexedDB: false,
      onSetUpError: (error) => {
        throw error
      },
    })
    this.db = new Database({ adapter, modelClasses: [Worker, Enrolment] })
  }

  async login() {
    const answer = await login(this.username, CONFIG.password, this.deviceId)
    this.token = answer.token
    this.user = answer.user
    return answer
  }

  // Locally changed records: created or updated rows, plus the ones marked as deleted (hidden
  // from queries, kept by the adapter until pushed).
  async pendingCount() {
    let count = 0
    for (const table of TABLES) {
      count += await this.db.get(table).query(Q.where('_status', Q.oneOf(['created', 'updated']))).fetchCount()
      count += (await this.db.adapter.getDeletedRecords(table)).length
    }
    return count
  }

  async syncHeaders() {
    return { 'X-Pending-Changes': String(await this.pendingCount()) }
  }

  // One WatermelonDB synchronize(): pull, apply, push, mark as synced. Rejects on any HTTP error
  // (HttpError with status and error code) or network error, as an app's sync would.
  async sync() {
    const device = this
    const log = {}
    await synchronize({
      database: this.db,
      log,
      pullChanges: async ({ lastPulledAt, schemaVersion }) => {
        const path = `/api/v1/sync?last_pulled_at=${lastPulledAt ?? 'null'}&schema_version=${schemaVersion}`
        const { status, json } = await http('GET', path, { token: device.token, headers: await device.syncHeaders() })
        device.requests.push(['GET', status])
        if (status !== 200) throw new HttpError('GET', path, status, json)
        return { changes: json.changes, timestamp: json.timestamp }
      },
      pushChanges: async ({ changes, lastPulledAt }) => {
        if (device.beforeNextPush) {
          const hook = device.beforeNextPush
          device.beforeNextPush = null
          await hook()
        }
        const path = `/api/v1/sync?last_pulled_at=${lastPulledAt}`
        const body = { changes }
        const headers = await device.syncHeaders()
        if (device.loseNextPushResponse) {
          // The request reaches the server and is processed in full; the answer never comes back.
          device.loseNextPushResponse = false
          const { status, json } = await http('POST', path, { token: device.token, body, headers })
          device.lostPush = { path, body, headers, status, json }
          device.requests.push(['POST', 'lost'])
          throw new TypeError('fetch failed (simulated: the response was lost on the way back)')
        }
        const { status, json } = await http('POST', path, { token: device.token, body, headers })
        device.requests.push(['POST', status])
        if (status !== 200) throw new HttpError('POST', path, status, json)
      },
    })
    check(!(await hasUnsyncedChanges({ database: this.db })), `${this.label}: local changes left unsynced after a sync`)
    return log
  }

  // Runs sync() and expects it to fail; returns the error.
  async syncExpectingFailure(what) {
    try {
      await this.sync()
    } catch (error) {
      if (error instanceof E2EFailure) throw error
      return error
    }
    throw new E2EFailure(`${this.label}: expected the sync to fail (${what}), it succeeded`)
  }

  async create(table, values) {
    return this.db.write(() =>
      this.db.get(table).create((record) => {
        for (const [column, value] of Object.entries(values)) record[camel(column)] = value
      }),
    )
  }

  // A new worker registered on this device (one of PEOPLE).
  async register(person) {
    return this.create('workers', workerValues({ ...PEOPLE[person], recordedBy: this.username }))
  }

  async update(table, id, values) {
    const record = await this.db.get(table).find(id)
    return this.db.write(() =>
      record.update((r) => {
        for (const [column, value] of Object.entries(values)) r[camel(column)] = value
      }),
    )
  }

  async remove(table, id) {
    const record = await this.db.get(table).find(id)
    await this.db.write(() => record.markAsDeleted())
  }

  // The whole local database: {table: {id: {column: value}}}, only schema columns.
  async snapshot() {
    const result = {}
    for (const table of TABLES) {
      result[table] = {}
      for (const record of await this.db.get(table).query().fetch()) {
        const row = {}
        for (const column of Object.keys(COLUMNS[table])) row[column] = record._getRaw(column)
        result[table][record.id] = row
      }
    }
    return result
  }

  async ids(table) {
    return (await this.db.get(table).query().fetchIds()).sort()
  }

  async row(table, id) {
    return (await this.snapshot())[table][id]
  }

  // The server's record over the REST API (this device's token): {status, json}.
  async rest(path) {
    return http('GET', path, { token: this.token })
  }
}

// --- data ---------------------------------------------------------------------------------------

// A structurally valid NIK: region 170401 (Kinal, Kaur), birth day (+40 for women), month, year,
// serial. See workers/nik.py.
function nik(birthDate, sex, serial) {
  const [year, month, day] = birthDate.split('-').map(Number)
  const dd = day + (sex === 'F' ? 40 : 0)
  const pad = (n, w) => String(n).padStart(w, '0')
  return `170401${pad(dd, 2)}${pad(month, 2)}${pad(year % 100, 2)}${pad(serial, 4)}`
}

// The people the officers register: valid NIKs, phones as typed (the server stores E.164).
const PEOPLE = {
  ahmad: { fullName: 'Ahmad Fauzi', birthDate: '1985-03-12', sex: 'M', serial: 101, phone: '081234500101' },
  nurhayati: { fullName: 'Nurhayati', birthDate: '1992-07-05', sex: 'F', serial: 102, phone: '', occupation: 'petani' },
  rudi: { fullName: 'Rudi Hartono', birthDate: '1979-11-30', sex: 'M', serial: 103, phone: '+62 813 4500 0103', occupation: 'ojek' },
  dewi: { fullName: 'Dewi Lestari', birthDate: '1995-01-20', sex: 'F', serial: 104, phone: '081234500104', occupation: 'pedagang_pasar' },
  eko: { fullName: 'Eko Prasetyo', birthDate: '1988-08-17', sex: 'M', serial: 105, phone: '', occupation: 'petani' },
}

function workerValues({ fullName, birthDate, sex, serial, phone, occupation = 'nelayan', recordedBy }) {
  return {
    village: CONFIG.village,
    nik: nik(birthDate, sex, serial),
    kk_number: '',
    full_name: fullName,
    birth_date: birthDate,
    birth_place: 'Kaur',
    sex,
    phone,
    address_street: 'Jl. Pantai',
    address_dusun: 'Dusun I',
    address_rt: '001',
    address_rw: '002',
    occupation,
    kusuka_number: '',
    monthly_income: 1500000,
    mother_maiden_name: 'Fatimah',
    heirs: JSON.stringify([{ name: 'Rahmat', relationship: 'child', nik: '', phone: '' }]),
    consent_given_at: '2026-11-20T09:00:00+07:00',
    consent_method: 'signature',
    consent_recorded_by: recordedBy,
  }
}

// Coverage starts on the first day of next month in Jakarta time (the server accepts up to a year
// ahead), so the script keeps working whatever the date.
function nextMonthStart() {
  const jakarta = new Date(Date.now() + 7 * 3600 * 1000)
  const next = new Date(Date.UTC(jakarta.getUTCFullYear(), jakarta.getUTCMonth() + 1, 1))
  return next.toISOString().slice(0, 10)
}

function enrolmentValues(workerId) {
  const coverageStart = nextMonthStart()
  return {
    worker: workerId,
    village: CONFIG.village,
    segment: 'BPU',
    programs: JSON.stringify(['JKK', 'JKM']),
    funding_source: 'apbd_kabupaten',
    budget_year: Number(coverageStart.slice(0, 4)),
    funding_decree: '',
    coverage_start: coverageStart,
    payment_period_months: 1,
    status: 'submitted',
  }
}

// The REST representation of a worker, flattened to the sync columns the app edits.
function flatWorker(rest) {
  return {
    village: rest.village,
    nik: rest.nik,
    full_name: rest.full_name,
    birth_date: rest.birth_date,
    birth_place: rest.birth_place,
    sex: rest.sex,
    phone: rest.phone,
    address_street: rest.address.street,
    address_dusun: rest.address.dusun,
    address_rt: rest.address.rt,
    address_rw: rest.address.rw,
    occupation: rest.occupation,
    monthly_income: rest.monthly_income,
    mother_maiden_name: rest.mother_maiden_name,
    heirs: rest.heirs,
    needs_correction: rest.needs_correction,
    version: rest.version,
  }
}

function pickWorker(row) {
  const picked = {}
  for (const key of Object.keys(flatWorker({ address: {} }))) picked[key] = row[key]
  picked.heirs = JSON.parse(row.heirs || '[]')
  return picked
}

// Asserts that a local worker row is exactly the server's record (GET /api/v1/workers/{id}).
async function checkWorkerOnServer(device, id, row, what) {
  const { status, json } = await device.rest(`/api/v1/workers/${id}`)
  check(status === 200, `${what}: GET /api/v1/workers/${id} → ${status} ${JSON.stringify(json)}`)
  checkEqual(pickWorker(row), flatWorker(json), `${what}: local worker ${id} vs the server's`)
  return json
}

async function checkGoneOnServer(device, path, what) {
  const { status, json } = await device.rest(path)
  check(status === 404, `${what}: GET ${path} should be 404 (deleted), got ${status} ${JSON.stringify(json)}`)
}

// Both devices hold exactly the same records with the same values.
async function checkConverged(devices, what) {
  const [first, ...others] = devices
  const reference = await first.snapshot()
  for (const other of others) {
    checkEqual(await other.snapshot(), reference, `${what}: ${other.label}'s local database vs ${first.label}'s`)
  }
  return reference
}

// --- scenarios ----------------------------------------------------------------------------------

// a. Two devices of one village work offline, then converge.
async function scenarioConverge(a, b) {
  await a.login()
  await b.login()
  // First sync: both get the village's seed records.
  await a.sync()
  await b.sync()
  const seed = await checkConverged([a, b], 'a: after the first pull')
  const seedWorkers = Object.entries(seed.workers).sort(([x], [y]) => x.localeCompare(y))
  const enrolled = new Set(Object.values(seed.enrolments).map((e) => e.worker))
  const toEdit = seedWorkers.find(([id]) => enrolled.has(id))
  const toDelete = seedWorkers.find(([id]) => !enrolled.has(id))
  check(toEdit && toDelete, 'a: the seed needs a worker with an enrolment and one without in the village')
  check(
    seedWorkers.every(([, w]) => w.village === CONFIG.village),
    `a: the first pull brought workers of another village: ${JSON.stringify(seedWorkers.map(([id, w]) => [id, w.village]))}`,
  )

  // Offline, round 1. A: registers Ahmad (worker + enrolment) and Nurhayati (worker only), and
  // corrects a seed worker's phone. B: registers Rudi and deletes the seed worker without enrolment.
  const ahmad = await a.register('ahmad')
  const ahmadEnrolment = await a.create('enrolments', enrolmentValues(ahmad.id))
  const nurhayati = await a.register('nurhayati')
  await a.update('workers', toEdit[0], { phone: '0812 3450 0999', birth_place: 'Bintuhan' })
  const rudi = await b.register('rudi')
  await b.remove('workers', toDelete[0])
  check((await a.pendingCount()) === 4, `a: device A should have 4 pending changes, has ${await a.pendingCount()}`)
  check((await b.pendingCount()) === 2, `b: device B should have 2 pending changes, has ${await b.pendingCount()}`)

  // Sync rounds: A pushes, B pulls A's work and pushes its own, A pulls B's.
  await a.sync()
  await b.sync()
  await a.sync()

  // Offline, round 2: B deletes Nurhayati (created by A) and changes Ahmad's enrolment to be paid
  // every 3 months; A renames Rudi (created by B).
  await b.remove('workers', nurhayati.id)
  await b.update('enrolments', ahmadEnrolment.id, { payment_period_months: 3 })
  await a.update('workers', rudi.id, { full_name: 'Rudi Hartono Saputra' })
  await b.sync()
  await a.sync()
  // Each device pulls once more after the last push: both then hold what the server stored
  // (versions, normalised phones, computed contributions), their own pushes included.
  await b.sync()
  await a.sync()

  const final = await checkConverged([a, b], 'a: after the sync rounds')
  const expectedWorkers = seedWorkers
    .map(([id]) => id)
    .filter((id) => id !== toDelete[0])
    .concat([ahmad.id, rudi.id])
    .sort()
  checkEqual(Object.keys(final.workers).sort(), expectedWorkers, 'a: workers on both devices')
  checkEqual(
    Object.keys(final.enrolments).sort(),
    Object.keys(seed.enrolments).concat([ahmadEnrolment.id]).sort(),
    'a: enrolments on both devices',
  )

  // Exact values, as the server normalised them (phones in E.164), and the server agrees.
  const edited = final.workers[toEdit[0]]
  checkEqual([edited.phone, edited.birth_place], ['+6281234500999', 'Bintuhan'], 'a: the edited seed worker')
  checkEqual(
    pick(final.workers[ahmad.id], 'full_name', 'phone', 'version', 'needs_correction'),
    ['Ahmad Fauzi', '+6281234500101', 1, false],
    "a: Ahmad's record",
  )
  checkEqual(
    pick(final.workers[rudi.id], 'full_name', 'phone', 'version', 'needs_correction'),
    ['Rudi Hartono Saputra', '+6281345000103', 2, false],
    "a: Rudi's record",
  )
  const enrolment = final.enrolments[ahmadEnrolment.id]
  checkEqual(
    pick(enrolment, 'worker', 'status', 'payment_period_months', 'version', 'needs_correction'),
    [ahmad.id, 'submitted', 3, 2, false],
    "a: Ahmad's enrolment",
  )
  check(
    enrolment.monthly_contribution > 0,
    `a: the server's monthly contribution should reach the devices, got ${enrolment.monthly_contribution}`,
  )
  for (const id of expectedWorkers) await checkWorkerOnServer(a, id, final.workers[id], 'a')
  await checkGoneOnServer(a, `/api/v1/workers/${toDelete[0]}`, 'a: the seed worker B deleted')
  await checkGoneOnServer(a, `/api/v1/workers/${nurhayati.id}`, 'a: Nurhayati, created by A and deleted by B')
  const restEnrolment = await a.rest(`/api/v1/enrolments/${ahmadEnrolment.id}`)
  check(restEnrolment.status === 200, `a: GET enrolment ${ahmadEnrolment.id} → ${restEnrolment.status}`)
  const priced = ['payment_period_months', 'monthly_contribution', 'annual_contribution', 'version']
  checkEqual(
    pick(restEnrolment.json, ...priced),
    pick(enrolment, ...priced),
    "a: Ahmad's enrolment on the server vs on the devices",
  )
  return {
    workers: expectedWorkers.length,
    enrolments: Object.keys(final.enrolments).length,
    created: { ahmad: ahmad.id, ahmad_enrolment: ahmadEnrolment.id, rudi: rudi.id, nurhayati: nurhayati.id },
    deleted: [toDelete[0], nurhayati.id].sort(),
    edited: toEdit[0],
    monthly_contribution: enrolment.monthly_contribution,
  }
}

// b. Both devices edit the same worker; B's push loses the race.
async function scenarioConflict(a, b, workerId) {
  const before = await a.row('workers', workerId)
  // A changes phone and birth place; B, offline too, changes phone and street.
  await a.update('workers', workerId, { phone: '081200000001', birth_place: 'Muara Sahung' })
  await b.update('workers', workerId, { phone: '081200000002', address_street: 'Jl. Lintas Barat' })
  // B syncs: its pull finds nothing new, then just before B pushes, A completes a whole sync, so
  // the worker changed on the server after B's last_pulled_at.
  b.beforeNextPush = () => a.sync()
  const conflict = await b.syncExpectingFailure('push after A changed the same worker')
  check(
    conflict instanceof HttpError && conflict.status === 409 && conflict.code === 'sync_conflict',
    `b: B's push should be refused with 409 sync_conflict, got ${conflict.stack || conflict}`,
  )
  // Nothing of B's push was applied: the server holds A's version.
  const afterConflict = await b.rest(`/api/v1/workers/${workerId}`)
  checkEqual(
    [afterConflict.json.phone, afterConflict.json.birth_place, afterConflict.json.address.street, afterConflict.json.version],
    ['+6281200000001', 'Muara Sahung', before.address_street, before.version + 1],
    'b: the server after the refused push (A\'s change only)',
  )
  // B syncs again: pulls A's change, WatermelonDB merges (columns B changed win), pushes.
  const log = await b.sync()
  await a.sync()
  await b.sync()
  const final = await checkConverged([a, b], 'b: after the conflict was resolved')
  const row = final.workers[workerId]
  checkEqual(
    [row.phone, row.birth_place, row.address_street, row.version],
    ['+6281200000002', 'Muara Sahung', 'Jl. Lintas Barat', before.version + 2],
    'b: the merged worker',
  )
  await checkWorkerOnServer(a, workerId, row, 'b')
  return {
    worker: workerId,
    conflict: { status: conflict.status, code: conflict.code },
    merged_conflicts: (log.resolvedConflicts || []).length,
    version: row.version,
  }
}

// c. A push whose response is lost, sent again.
async function scenarioLostResponse(a, b) {
  const dewi = await a.register('dewi')
  a.loseNextPushResponse = true
  const lost = await a.syncExpectingFailure('the push response is lost')
  check(lost instanceof TypeError, `c: expected a network error, got ${lost.stack || lost}`)
  check(
    a.lostPush.status === 200,
    `c: the lost push itself should have succeeded on the server: ${a.lostPush.status} ${JSON.stringify(a.lostPush.json)}`,
  )
  const stored = await a.rest(`/api/v1/workers/${dewi.id}`)
  check(
    stored.status === 200 && stored.json.version === 1,
    `c: the lost push created Dewi (version 1): ${stored.status} ${JSON.stringify(stored.json)}`,
  )
  check((await a.pendingCount()) === 1, 'c: locally Dewi is still unsynced after the lost response')

  // An HTTP-level retry: the very same request again. The server applied it already, so it
  // answers 200 and changes nothing.
  const { path, body, headers } = a.lostPush
  const again = await http('POST', path, { token: a.token, body, headers })
  check(
    again.status === 200,
    `c: the identical push again should be 200, got ${again.status} ${JSON.stringify(again.json)}`,
  )
  const afterRetry = await a.rest(`/api/v1/workers/${dewi.id}`)
  checkEqual(afterRetry.json, stored.json, 'c: the server record after the identical push again (a no-op)')

  // The app's own retry: synchronize() again (pull brings Dewi back, merged; push re-sends it).
  await a.sync()
  await b.sync()
  await a.sync()
  const final = await checkConverged([a, b], 'c: after the retry')
  const named = Object.values(final.workers).filter((w) => w.full_name === 'Dewi Lestari')
  check(named.length === 1, `c: exactly one Dewi locally, found ${named.length}`)
  const row = final.workers[dewi.id]
  checkEqual([row.phone, row.occupation, row.version], ['+6281234500104', 'pedagang_pasar', 1], 'c: Dewi after the retry')
  await checkWorkerOnServer(a, dewi.id, row, 'c')
  const search = await a.rest(`/api/v1/workers?village=${CONFIG.village}&q=${encodeURIComponent('Dewi Lestari')}`)
  check(search.status === 200, `c: search → ${search.status}`)
  checkEqual(search.json.results.map((w) => w.id), [dewi.id], 'c: workers named Dewi Lestari on the server')
  return { worker: dewi.id, nik: row.nik, version: row.version, lost_push_status: a.lostPush.status, repeated_push_status: again.status }
}

// d. The officer of device C is moved to another village.
async function scenarioMoved(c) {
  await c.login()
  await c.sync()
  const before = await c.snapshot()
  const oldWorkers = Object.keys(before.workers).sort()
  check(oldWorkers.length > 0, 'd: device C should hold the old village\'s workers before the move')
  check(Object.values(before.workers).every((w) => w.village === CONFIG.village), 'd: device C holds only the old village before the move')

  // An admin moves the officer (PATCH areas); that revokes the officer's tokens.
  const admin = await login(CONFIG.admin, CONFIG.adminPassword, 'e2e-admin-console')
  const patch = await http('PATCH', `/api/v1/users/${c.user.id}`, { token: admin.token, body: { areas: [CONFIG.newVillage] } })
  check(patch.status === 200, `d: PATCH /api/v1/users/${c.user.id} → ${patch.status} ${JSON.stringify(patch.json)}`)

  const refused = await c.syncExpectingFailure('the token was revoked by the move')
  check(refused instanceof HttpError && refused.status === 401, `d: the old token should get 401, got ${refused.stack || refused}`)
  await c.login() // same device_id
  checkEqual(c.user.areas, [CONFIG.newVillage], 'd: the officer\'s areas after logging in again')
  await c.sync()

  const after = await c.snapshot()
  const stale = Object.entries(after.workers).filter(([, w]) => w.village !== CONFIG.newVillage)
  checkEqual(stale.map(([id]) => id), [], 'd: workers of the old village left on device C')
  const staleEnrolments = Object.entries(after.enrolments).filter(([, e]) => e.village !== CONFIG.newVillage)
  checkEqual(staleEnrolments.map(([id]) => id), [], 'd: enrolments of the old village left on device C')

  // Device C now holds exactly what the REST API lists for the new village.
  const listed = await c.rest(`/api/v1/workers?village=${CONFIG.newVillage}&page_size=500`)
  check(listed.status === 200, `d: list workers of the new village → ${listed.status}`)
  const newWorkers = listed.json.results.map((w) => w.id).sort()
  check(newWorkers.length > 0, 'd: the new village should have workers (seed data)')
  checkEqual(Object.keys(after.workers).sort(), newWorkers, 'd: workers on device C vs the server\'s list for the new village')
  const listedEnrolments = await c.rest(`/api/v1/enrolments?village=${CONFIG.newVillage}&page_size=500`)
  check(listedEnrolments.status === 200, `d: list enrolments of the new village → ${listedEnrolments.status}`)
  checkEqual(
    Object.keys(after.enrolments).sort(),
    listedEnrolments.json.results.map((e) => e.id).sort(),
    'd: enrolments on device C vs the server\'s list for the new village',
  )
  for (const id of newWorkers) await checkWorkerOnServer(c, id, after.workers[id], 'd')
  // An old-village record is now out of scope for C: 404.
  await checkGoneOnServer(c, `/api/v1/workers/${oldWorkers[0]}`, 'd: an old-village worker seen by the moved officer')
  return {
    user: c.user.id,
    removed_workers: oldWorkers.length,
    removed_enrolments: Object.keys(before.enrolments).length,
    workers: newWorkers,
    enrolments: Object.keys(after.enrolments).sort(),
  }
}

// e. A record deleted on the device right after the sync that pushed it.
async function scenarioDeleteAfterPush(a, b) {
  // A registers Eko and syncs; the officer then sees Eko was a duplicate entry, deletes him and
  // syncs again. That sync's pull still carries Eko (the server wrote him after A's previous
  // pull), which must not bring him back: WatermelonDB re-creates a locally deleted record the
  // server sends as `created` (and keeps the deletion for a record sent as `updated`).
  const eko = await a.register('eko')
  await a.sync()
  const pushed = await a.rest(`/api/v1/workers/${eko.id}`)
  check(pushed.status === 200, `e: Eko should be on the server after A's push: ${pushed.status}`)
  await a.remove('workers', eko.id)
  await a.sync()
  check(
    !(await a.ids('workers')).includes(eko.id),
    `e: Eko (${eko.id}), deleted on device A after his push, came back on A's next pull (sent as created) ` +
      'and his deletion was never pushed',
  )
  await checkGoneOnServer(a, `/api/v1/workers/${eko.id}`, 'e: Eko after A deleted him')
  await b.sync()
  await a.sync()
  await checkConverged([a, b], 'e: after the delete')
  check(!(await b.ids('workers')).includes(eko.id), `e: Eko is still on device B`)
  return { worker: eko.id }
}

// --- main ---------------------------------------------------------------------------------------

async function main() {
  const started = Date.now()
  const a = new FieldDevice('A', CONFIG.officerA)
  const b = new FieldDevice('B', CONFIG.officerB)
  const c = new FieldDevice('C', CONFIG.movedOfficer)
  const summary = { ok: true, scenarios: {} }
  const step = async (name, run) => {
    process.stderr.write(`scenario ${name}…\n`)
    summary.scenarios[name] = await run()
  }
  await step('a_converge', () => scenarioConverge(a, b))
  await step('b_conflict', () => scenarioConflict(a, b, summary.scenarios.a_converge.edited))
  await step('c_lost_response', () => scenarioLostResponse(a, b))
  await step('d_moved_officer', () => scenarioMoved(c))
  await step('e_delete_after_push', () => scenarioDeleteAfterPush(a, b))
  // WatermelonDB logs a "[Sync] …" diagnostic whenever the server's changes contradict what the
  // device holds (e.g. `created` for a record it already has): none may occur.
  checkEqual(diagnostics, [], 'WatermelonDB sync diagnostics during the run')
  summary.requests = { A: a.requests, B: b.requests, C: c.requests }
  summary.diagnostics = diagnostics
  summary.seconds = Math.round((Date.now() - started) / 100) / 10
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error instanceof E2EFailure ? `E2E FAILURE: ${error.message}` : error.stack || String(error))
    process.exit(1)
  },
)
