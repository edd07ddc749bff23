-- The sheet-metal shop as its CAD/CAM and MES systems record it: what it cuts (materials), what it
-- cuts and bends on (machines), who orders (customers), what they order (parts, quotes, orders),
-- and what happened on the floor (jobs, their route steps with actual times, energy and scrap per
-- job, shifts with their operator count). `kerf shop generate` fills it; a shop's own exports can
-- be loaded into the same tables.
CREATE SCHEMA shop;

CREATE TABLE shop.materials (
  material_id      text PRIMARY KEY,              -- grade as ordered, e.g. 'S235JR', '1.4301'
  grade            text NOT NULL,
  family           text NOT NULL CHECK (family ~ '^[a-z_]+$'),  -- mild_steel, stainless_steel, ...
  density_kg_m3    double precision NOT NULL CHECK (density_kg_m3 > 0),
  price_per_kg     numeric(10, 2) NOT NULL CHECK (price_per_kg > 0),
  price_updated_at timestamptz NOT NULL
);

CREATE TABLE shop.machines (
  machine_id      text PRIMARY KEY,               -- e.g. 'LAS-1'
  kind            text NOT NULL CHECK (kind IN ('laser', 'plasma', 'punch', 'press_brake', 'deburr', 'weld', 'paint')),
  model           text NOT NULL,
  power_kw        double precision NOT NULL CHECK (power_kw > 0),        -- process power: laser source, plasma, motor
  rated_input_kw  double precision NOT NULL CHECK (rated_input_kw > 0),  -- electrical draw at full load
  rate_per_hour   numeric(10, 2) NOT NULL CHECK (rate_per_hour > 0),     -- machine-hour rate used for quotes
  installed_on    date NOT NULL
);

CREATE TABLE shop.customers (
  customer_id  integer PRIMARY KEY,
  name         text NOT NULL,
  size_segment text NOT NULL CHECK (size_segment IN ('small', 'medium', 'large')),
  region       text NOT NULL
);

CREATE TABLE shop.shifts (
  shift_id       integer PRIMARY KEY,
  shift_date     date NOT NULL,
  shift          text NOT NULL CHECK (shift IN ('early', 'late', 'night')),
  starts_at      timestamptz NOT NULL,
  operator_count integer NOT NULL CHECK (operator_count > 0),
  UNIQUE (shift_date, shift)
);

CREATE TABLE shop.parts (
  part_id         bigint PRIMARY KEY,
  customer_id     integer NOT NULL REFERENCES shop.customers,
  material_id     text NOT NULL REFERENCES shop.materials,
  thickness_mm    double precision NOT NULL CHECK (thickness_mm > 0),
  sheet_area_m2   double precision NOT NULL CHECK (sheet_area_m2 > 0),  -- flat blank area of one part
  cut_length_mm   double precision NOT NULL CHECK (cut_length_mm > 0),  -- outer and inner contours
  pierce_count    integer NOT NULL CHECK (pierce_count >= 1),
  hole_count      integer NOT NULL CHECK (hole_count >= 0),
  bend_count      integer NOT NULL CHECK (bend_count >= 0),
  weld_length_mm  double precision NOT NULL CHECK (weld_length_mm >= 0),
  painted         boolean NOT NULL,
  tolerance_class text NOT NULL CHECK (tolerance_class IN ('fine', 'medium', 'coarse')),
  created_at      timestamptz NOT NULL
);

CREATE TABLE shop.quotes (
  quote_id              bigint PRIMARY KEY,
  customer_id           integer NOT NULL REFERENCES shop.customers,
  part_id               bigint NOT NULL REFERENCES shop.parts,
  quantity              integer NOT NULL CHECK (quantity > 0),
  quoted_at             timestamptz NOT NULL,
  material_price_per_kg numeric(10, 2) NOT NULL,   -- the material's price when quoted
  material_cost         numeric(14, 2) NOT NULL,   -- whole quantity
  machine_cost          numeric(14, 2) NOT NULL,
  setup_cost            numeric(14, 2) NOT NULL,
  margin                double precision NOT NULL,
  unit_price            numeric(14, 2) NOT NULL CHECK (unit_price > 0),
  total_price           numeric(16, 2) NOT NULL,
  won                   boolean NOT NULL
);

CREATE TABLE shop.orders (
  order_id    bigint PRIMARY KEY,
  quote_id    bigint NOT NULL UNIQUE REFERENCES shop.quotes,
  customer_id integer NOT NULL REFERENCES shop.customers,
  ordered_at  timestamptz NOT NULL,
  due_date    date NOT NULL,
  quantity    integer NOT NULL CHECK (quantity > 0)
);

CREATE TABLE shop.jobs (
  job_id      bigint PRIMARY KEY,
  order_id    bigint NOT NULL REFERENCES shop.orders,
  part_id     bigint NOT NULL REFERENCES shop.parts,
  shift_id    integer NOT NULL REFERENCES shop.shifts,
  quantity    integer NOT NULL CHECK (quantity > 0),
  sheet_count integer NOT NULL CHECK (sheet_count > 0),
  released_at timestamptz NOT NULL,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz NOT NULL
);
CREATE INDEX jobs_released_at ON shop.jobs (released_at);

-- The route of a job (cut -> deburr -> bend -> weld -> paint) with the actual times booked per step.
CREATE TABLE shop.route_steps (
  job_id        bigint NOT NULL REFERENCES shop.jobs,
  step_no       smallint NOT NULL CHECK (step_no >= 1),
  operation     text NOT NULL CHECK (operation IN ('cut', 'deburr', 'bend', 'weld', 'paint')),
  machine_id    text NOT NULL REFERENCES shop.machines,
  setup_seconds double precision NOT NULL CHECK (setup_seconds >= 0),
  run_seconds   double precision NOT NULL CHECK (run_seconds > 0),  -- the whole quantity, set-up excluded
  started_at    timestamptz NOT NULL,
  PRIMARY KEY (job_id, step_no)
);

CREATE TABLE shop.job_energy (
  job_id  bigint PRIMARY KEY REFERENCES shop.jobs,
  kwh     double precision NOT NULL CHECK (kwh > 0),
  peak_kw double precision NOT NULL CHECK (peak_kw > 0)
);

CREATE TABLE shop.job_scrap (
  job_id         bigint PRIMARY KEY REFERENCES shop.jobs,
  material_kg    double precision NOT NULL CHECK (material_kg > 0),  -- sheet metal consumed
  scrap_kg       double precision NOT NULL CHECK (scrap_kg >= 0),    -- skeleton, off-cuts and rejected parts
  rejected_parts integer NOT NULL CHECK (rejected_parts >= 0),
  scrap_rate     double precision NOT NULL CHECK (scrap_rate >= 0 AND scrap_rate < 1)
);

-- Every `kerf shop generate` run: what it made, from which seed and scenario, and how fast.
CREATE TABLE shop.generation_runs (
  run_id       bigserial PRIMARY KEY,
  seed         bigint NOT NULL,
  scenario     text NOT NULL,
  first_job_id bigint NOT NULL,
  last_job_id  bigint NOT NULL,
  rows         jsonb NOT NULL,
  seconds      double precision NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
