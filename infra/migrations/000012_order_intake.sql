-- The shop's order intake, one row per order line as the ERP books it: who ordered (and the
-- customer's size segment at the time), which material family, on which day, how many, and what
-- the line will take (laser hours, sheet metal). Order forecasting reads it by week, family and
-- segment. `kerf shop orders` fills it (as the owner); the application reads it, like the other
-- shop tables (000007).
CREATE TABLE shop.order_intake (
  order_line_id   bigint PRIMARY KEY,
  customer_id     integer NOT NULL REFERENCES shop.customers,
  size_segment    text NOT NULL CHECK (size_segment IN ('small', 'medium', 'large')),
  material_family text NOT NULL CHECK (material_family ~ '^[a-z_]+$'),
  ordered_on      date NOT NULL,
  quantity        integer NOT NULL CHECK (quantity > 0),
  laser_hours     double precision NOT NULL CHECK (laser_hours >= 0),
  steel_kg        double precision NOT NULL CHECK (steel_kg >= 0)
);
CREATE INDEX order_intake_ordered_on ON shop.order_intake (ordered_on);

-- kerf_reader gets SELECT through 000007's default privileges on the shop schema; kerf_app through
-- this grant (000007's GRANT ON ALL TABLES covered only the tables there were).
GRANT SELECT ON shop.order_intake TO kerf_app;
