import uPlot from 'uplot';
import type { Progress } from './api-types.js';
import { h } from './dom.js';
import type { TrainingHistory } from './training-history.js';

/** One of MATLAB's training-progress plots: a mini-batch curve and the validation points, against iteration. */
export interface ChartSpec {
  title: string;
  yLabel: string;
  /** The colour MATLAB gives this quantity (blue for accuracy, orange for loss). */
  colour: string;
  miniBatch: { label: string; value: (p: Progress) => number };
  /** Missing (undefined) where the record has no validation, null where it was not a number. */
  validation: { label: string; value: (p: Progress) => number | null | undefined };
  yRange?: [number, number];
}

const height = 240;
/** Iterations are whole numbers: tick steps from these only. */
const iterationSteps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/**
 * A live uPlot chart of one quantity, redrawn from the job's history on `update()`. Epochs are
 * shaded alternately, as in MATLAB's window, and where the job resumed from a checkpoint is marked. The figure's data-points attribute says how many
 * records it shows, for tests and for anyone inspecting the page.
 */
export class TrainingChart {
  readonly figure: HTMLElement;
  private readonly plot: uPlot;
  private readonly resize: ResizeObserver;

  constructor(
    private readonly spec: ChartSpec,
    private readonly history: TrainingHistory,
  ) {
    const target = h('div', { class: 'chart-canvas' });
    const caption = h('figcaption', {}, spec.title, h('span', { class: 'visually-hidden' }, ' (every value is also in the training progress table)'));
    this.figure = h('figure', { class: 'chart', 'data-points': '0' }, caption, target);
    this.plot = new uPlot(
      {
        width: 600,
        height,
        scales: { x: { time: false }, ...(spec.yRange ? { y: { range: spec.yRange } } : {}) },
        axes: [{ label: 'Iteration', incrs: iterationSteps }, { label: spec.yLabel }],
        // The legend names the curves; the values are in the figures above and the table below.
        legend: { live: false },
        series: [
          { label: 'Iteration' },
          { label: spec.miniBatch.label, stroke: spec.colour, width: 1.5 },
          { label: spec.validation.label, stroke: '#222', width: 1.5, dash: [6, 4], spanGaps: true, points: { show: true, size: 7, fill: '#222' } },
        ],
        plugins: [epochShading(() => this.epochs()), resumeMarks(() => this.history.resumedAt)],
      },
      [[], [], []],
      target,
    );
    this.resize = new ResizeObserver(() => {
      const width = Math.max(240, target.clientWidth);
      if (width !== this.plot.width) this.plot.setSize({ width, height });
    });
    this.resize.observe(target);
  }

  update(): void {
    const { points } = this.history;
    const { miniBatch, validation } = this.spec;
    this.plot.setData([points.map((p) => p.iteration), points.map(miniBatch.value), points.map((p) => validation.value(p) ?? null)]);
    this.figure.dataset['points'] = String(points.length);
  }

  /** Each epoch shown and the iteration it starts at (the first from the left edge). */
  private epochs(): { epoch: number; from: number }[] {
    const first = this.history.points[0];
    if (!first) return [];
    return [{ epoch: first.epoch, from: -Infinity }, ...this.history.epochBoundaries().map((b) => ({ epoch: b.epoch, from: b.at }))];
  }

  dispose(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }
}

/** Shades every other epoch behind the curves, as MATLAB does, and names (at the foot) each epoch wide enough to carry a label. */
function epochShading(epochs: () => { epoch: number; from: number }[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const bands = epochs();
        const { left, top, width, height: plotHeight } = u.bbox;
        const clamp = (x: number) => Math.min(left + width, Math.max(left, x));
        const px = devicePixelRatio;
        const ctx = u.ctx;
        ctx.save();
        ctx.font = `${Math.round(11 * px)}px system-ui, sans-serif`;
        ctx.textBaseline = 'bottom';
        bands.forEach(({ epoch, from }, i) => {
          const x0 = clamp(from === -Infinity ? left : u.valToPos(from, 'x', true));
          const next = bands[i + 1];
          const x1 = next ? clamp(u.valToPos(next.from, 'x', true)) : left + width;
          if (epoch % 2 === 0) {
            ctx.fillStyle = 'rgba(0, 0, 0, 0.06)';
            ctx.fillRect(x0, top, x1 - x0, plotHeight);
          }
          if (bands.length > 1 && x1 - x0 > 60 * px) {
            ctx.fillStyle = '#555';
            ctx.fillText(`Epoch ${epoch}`, x0 + 4 * px, top + plotHeight - 4 * px);
          }
        });
        ctx.restore();
      },
    },
  };
}

/** A dashed line, labelled, at each iteration the job resumed after (from a checkpoint, on another attempt). */
function resumeMarks(iterations: () => readonly number[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const { left, top, width, height: plotHeight } = u.bbox;
        const px = devicePixelRatio;
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#a33';
        ctx.fillStyle = '#a33';
        ctx.lineWidth = px;
        ctx.setLineDash([4 * px, 3 * px]);
        ctx.font = `${Math.round(11 * px)}px system-ui, sans-serif`;
        ctx.textBaseline = 'top';
        for (const iteration of iterations()) {
          const x = u.valToPos(iteration, 'x', true);
          if (x < left || x > left + width) continue;
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + plotHeight);
          ctx.stroke();
          ctx.fillText('Resumed', x + 3 * px, top + 3 * px);
        }
        ctx.restore();
      },
    },
  };
}
