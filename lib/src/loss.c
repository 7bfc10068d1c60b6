/* Softmax cross-entropy loss with optional label smoothing and a teacher's
 * soft targets. */
#include "cortex/loss.h"

#include <math.h>
#include <stddef.h>

void cx_softmax(const float *logits, int n, int k, float *probs)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        float *p = probs + (size_t)i * k;
        float mx = z[0];
        for (int j = 1; j < k; j++)
            if (z[j] > mx) mx = z[j];
        float sum = 0.0f;
        for (int j = 0; j < k; j++) {
            p[j] = expf(z[j] - mx);
            sum += p[j];
        }
        for (int j = 0; j < k; j++)
            p[j] /= sum;
    }
}

float cx_softmax_xent(const float *logits, const int *labels, int n, int k, float smoothing,
                      float *dlogits, float *probs)
{
    return cx_softmax_xent_soft(logits, labels, NULL, 0.0f, n, k, smoothing, dlogits, probs);
}

/* logits: (n, k)  labels: (n)  soft: (n, k) or NULL
 * loss_i = -sum_j t_ij log softmax(z_i)_j,
 *   t = (1 - s) onehot + s / k, then with soft: (1 - a) t + a soft_i
 * log softmax(z)_j = z_j - max - log sum exp(z - max)
 * dlogits = (softmax - t) / n */
float cx_softmax_xent_soft(const float *logits, const int *labels, const float *soft, float a,
                           int n, int k, float smoothing, float *dlogits, float *probs)
{
    if (!(a > 0.0f)) soft = NULL;
    if (a > 1.0f) a = 1.0f;
    double total = 0.0;
    float off = smoothing / (float)k, on = 1.0f - smoothing + off;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        float mx = z[0];
        for (int j = 1; j < k; j++)
            if (z[j] > mx) mx = z[j];
        double sum = 0.0;
        for (int j = 0; j < k; j++)
            sum += exp((double)(z[j] - mx));
        double lse = log(sum);
        int y = labels[i] >= 0 && labels[i] < k ? labels[i] : 0;
        double loss = 0.0;
        for (int j = 0; j < k; j++) {
            double logp = (double)(z[j] - mx) - lse;
            float t = j == y ? on : off;
            if (soft) t = (1.0f - a) * t + a * soft[(size_t)i * k + j];
            if (t != 0.0f) loss -= t * logp;
            float p = (float)exp(logp);
            if (probs) probs[(size_t)i * k + j] = p;
            if (dlogits) dlogits[(size_t)i * k + j] = (p - t) / (float)n;
        }
        total += loss;
    }
    return (float)(total / n);
}
