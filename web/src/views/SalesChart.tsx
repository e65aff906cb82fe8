/**
 * The dashboard's sales chart: one bar per day, drawn by Chart.js on a canvas (nothing inline for
 * the CSP to refuse), with a y-axis in the business's currency, 12 px labels, and the value of the
 * bar under the pointer, or chosen with the arrow keys while the chart has focus, in the tooltip
 * and in a live line below the chart (read by screen readers).
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  LinearScale,
  Tooltip,
} from 'chart.js';
import { type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { currencySymbol, money, number, shortDate } from '../lib/format.ts';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface DayTotal {
  /** The day's start (ms). */
  day: number;
  total: number;
}

type Bars = Chart<'bar', number[], string>;
/** The canvas keeps its chart (for DevTools and the browser tests). */
type ChartCanvas = HTMLCanvasElement & { chart?: Bars };

const css = (name: string, fallback: string) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function SalesChart({ days, label }: { days: DayTotal[]; label: string }) {
  const canvas = useRef<ChartCanvas>(null);
  const chart = useRef<Bars | null>(null);
  const [active, setActive] = useState<number | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: created once; the next effect updates the data
  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const ink = css('--muted', '#4d5866');
    const config: ChartConfiguration<'bar', number[], string> = {
      type: 'bar',
      data: {
        labels: days.map((d) => shortDate(d.day)),
        datasets: [
          { data: days.map((d) => d.total), backgroundColor: css('--accent', '#1f6fc2'), borderRadius: 2 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        // The day under the pointer, even where its bar is short or empty.
        interaction: { mode: 'index', intersect: false },
        font: { size: 12 },
        scales: {
          x: {
            grid: { display: false },
            ticks: { color: ink, font: { size: 12 }, maxRotation: 0, autoSkipPadding: 8 },
          },
          y: {
            display: true,
            beginAtZero: true,
            border: { display: true, color: ink },
            grid: { color: css('--line', '#d8dee6') },
            ticks: {
              color: ink,
              font: { size: 12 },
              maxTicksLimit: 5,
              callback: (v) => `${currencySymbol()}${number(v)}`,
            },
          },
        },
        plugins: {
          tooltip: {
            bodyFont: { size: 13 },
            titleFont: { size: 12 },
            callbacks: { label: (item) => money(item.parsed.y) },
          },
        },
        onHover: (_event, elements) => setActive(elements[0]?.index ?? null),
      },
    };
    const c = new Chart(el, config);
    el.chart = c;
    chart.current = c;
    return () => {
      c.destroy();
      chart.current = null;
      el.chart = undefined;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = days.map((d) => shortDate(d.day));
    c.data.datasets[0].data = days.map((d) => d.total);
    c.update();
  }, [days]);

  /** Shows bar `i`'s value in the tooltip (keyboard: arrows, Home, End). */
  const show = (i: number | null) => {
    setActive(i);
    const c = chart.current;
    if (!c) return;
    const els = i === null ? [] : [{ datasetIndex: 0, index: i }];
    c.setActiveElements(els);
    const pos = i === null ? { x: 0, y: 0 } : c.getDatasetMeta(0).data[i].getProps(['x', 'y'], true);
    c.tooltip?.setActiveElements(els, { x: Number(pos.x), y: Number(pos.y) });
    c.update();
  };
  const onKey = (e: KeyboardEvent) => {
    const last = days.length - 1;
    const moves: Record<string, number> = {
      ArrowRight: Math.min(last, (active ?? -1) + 1),
      ArrowLeft: Math.max(0, (active ?? last + 1) - 1),
      Home: 0,
      End: last,
    };
    if (e.key in moves) {
      e.preventDefault();
      show(moves[e.key]);
    }
  };

  const current = active === null ? null : days[active];
  return (
    <>
      <div className="chart">
        <canvas
          ref={canvas}
          role="img"
          aria-label={label}
          tabIndex={0}
          onKeyDown={onKey}
          onFocus={() => show(active ?? days.length - 1)}
          onBlur={() => show(null)}
          onMouseLeave={() => setActive(null)}
        />
      </div>
      <p className="chart-value" aria-live="polite" data-testid="chart-value">
        {current ? `${shortDate(current.day)}: ${money(current.total)}` : ' '}
      </p>
    </>
  );
}
