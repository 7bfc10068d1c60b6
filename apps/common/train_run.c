#include "train_run.h"

#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "plot.h"

/* Progress on the terminal, and the --stop-after countdown. */
static void on_progress(void *user, const cx_train_progress *p)
{
    train_run *t = user;
    cli_progress(NULL, p);
    if (t->stop_after > 0 && --t->stop_after == 0) cli_stop = 1;
}

static void on_epoch(void *user, const cx_epoch_report *r)
{
    train_run *t = user;
    cli_progress_done();
    char dur[32];
    printf("epoch %3d/%d  loss %.4f  train %.2f%%", r->epoch, t->epochs, (double)r->train_loss,
           100.0 * r->train_acc);
    if (r->val_acc >= 0)
        printf("  val %.2f%% (loss %.4f)", 100.0 * r->val_acc, (double)r->val_loss);
    printf("  %.0f %s  %s%s\n", r->samples_per_sec, t->rate_unit,
           cli_duration(r->seconds, dur, sizeof dur), r->improved ? "  saved" : "");
    fflush(stdout);
}

cx_status train_run_prepare(train_run *t, cx_train_config *cfg, cx_error *err)
{
    snprintf(t->ckpt, sizeof t->ckpt, "%s.ckpt", t->out);
    snprintf(t->curve, sizeof t->curve, "%s.curve.png", t->out);
    t->epochs = cfg->epochs;
    cfg->out_path = t->out;
    cfg->checkpoint_path = t->ckpt;
    cfg->stop = &cli_stop;
    cfg->on_progress = on_progress;
    cfg->on_epoch = on_epoch;
    cfg->user = t;
    if (cfg->resume && access(t->ckpt, R_OK) != 0)
        return cx_fail(err, CX_ERR_IO, "--resume: no checkpoint %s to continue from", t->ckpt);
    return CX_OK;
}

cx_status train_run_go(train_run *t, cx_model *m, const cx_train_source *train,
                       const cx_train_source *val, const cx_train_config *cfg, cx_error *err)
{
    cx_status st = cx_train(m, train, val, cfg, &t->res, err);
    cli_progress_done();
    if (st == CX_ERR_INTERRUPTED) cli_interrupted = 1;
    if (cli_rank() > 0) return st;
    if (t->res.processes > 1 && t->res.steps_run > 0) {
        double steps = (double)t->res.steps_run;
        char workers[64];
        printf("%s: %ld steps of %.2f ms; summing the gradients took %.3f ms of each (%.1f%%), "
               "all communication %.3f ms (%.1f%%)\n",
               cli_workers(workers, sizeof workers), t->res.steps_run,
               1e3 * t->res.step_seconds / steps, 1e3 * t->res.grad_seconds / steps,
               100.0 * t->res.grad_seconds / (t->res.step_seconds + 1e-12),
               1e3 * t->res.comm_seconds / steps,
               100.0 * t->res.comm_seconds / (t->res.step_seconds + 1e-12));
        fflush(stdout);
    }
    if (t->res.nhistory) {
        cx_error perr;
        if (plot_learning_curve(t->curve, t->out, t->res.history, t->res.nhistory, &perr))
            cli_error(t->prog, "warning: %s", perr.msg);
    }
    if (st == CX_ERR_INTERRUPTED)
        cli_error(t->prog, "interrupted; checkpoint saved to %s (continue with --resume)", t->ckpt);
    return st;
}

void train_run_done(train_run *t)
{
    cx_train_result_free(&t->res);
}

int train_args_option(train_args *a, const char *prog, int c, const char *v)
{
    int bad = 0;
    switch (c) {
    case 'd':
        a->data = v;
        break;
    case 'o':
        a->out = v;
        break;
    case 'a':
        a->arch = v;
        break;
    case 'e':
        bad = cli_int(prog, "--epochs", v, 1, 100000, &a->epochs);
        break;
    case 'b':
        bad = cli_int(prog, "--batch", v, 1, 65536, &a->batch);
        break;
    case 'l':
        bad = cli_float(prog, "--lr", v, 1e-7, 10, &a->lr);
        a->lr_set = 1;
        break;
    case 's':
        bad = cli_u64(prog, "--seed", v, &a->seed);
        break;
    case TRAIN_O_OPT:
        a->optimizer = v;
        break;
    case TRAIN_O_SCHED:
        a->schedule = v;
        break;
    case TRAIN_O_WD:
        bad = cli_float(prog, "--weight-decay", v, 0, 1, &a->weight_decay);
        a->wd_set = 1;
        break;
    case TRAIN_O_LS:
        bad = cli_float(prog, "--label-smoothing", v, 0, 0.5, &a->smoothing);
        break;
    case TRAIN_O_THREADS:
        bad = cli_int(prog, "--threads", v, 1, 256, &a->threads);
        break;
    case TRAIN_O_RESUME:
        a->resume = 1;
        break;
    case TRAIN_O_STOP:
        bad = cli_int(prog, "--stop-after", v, 1, 1 << 30, &a->stop_after);
        break;
    default:
        return 0;
    }
    return bad ? -1 : 1;
}

int train_args_check(const train_args *a, const char *prog, int argc, char **argv)
{
    if (optind < argc) {
        cli_error(prog, "train: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!a->data || !a->out) {
        cli_error(prog, "train: --data and --out are required");
        return -1;
    }
    return 0;
}

cx_status train_args_config(const train_args *a, cx_train_config *cfg, cx_error *err)
{
    *cfg = cx_train_defaults();
    cx_status st = cx_optim_parse(a->optimizer, &cfg->optim, err);
    if (!st) st = cx_schedule_parse(a->schedule, &cfg->schedule, err);
    cfg->optim.weight_decay = a->weight_decay;
    cfg->epochs = a->epochs;
    cfg->batch = a->batch;
    cfg->lr = a->lr;
    cfg->label_smoothing = a->smoothing;
    cfg->seed = a->seed;
    cfg->resume = a->resume;
    return st;
}
